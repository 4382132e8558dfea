// Unit tests of shared/classify.js: which files of a folder make up the model.
import test from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../www/shared/classify.js';
import { MAX_JSON_BYTES } from '../../www/shared/settings.js';

const entry = (path, text = 'x') => ({ file: new File([text], path.split('/').pop()), path });
const names = (list) => list.map((f) => f.name);

test('the shallowest folder with safetensors is the model; its shards sorted, the rest ignored with reasons', async () => {
  const r = await classify([
    entry('m/model-00002-of-00002.safetensors'),
    entry('m/model-00001-of-00002.safetensors'),
    entry('m/model.safetensors.index.json', '{"weight_map":{}}'),
    entry('m/config.json', '{"model_type":"bert"}'),
    entry('m/README.md'),
    entry('m/onnx/model.safetensors'),
  ]);
  assert.equal(r.dir, 'm');
  assert.deepEqual(names(r.files), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.deepEqual(r.index, { name: 'model.safetensors.index.json', text: '{"weight_map":{}}' });
  assert.equal(r.config, '{"model_type":"bert"}');
  assert.equal(r.configName, 'm/config.json');
  assert.equal(r.indexName, 'm/model.safetensors.index.json');
  assert.deepEqual(r.ignored, [
    { path: 'm/README.md', why: 'not a model file' },
    { path: 'm/onnx/model.safetensors', why: 'outside the model folder' },
  ]);
  assert.deepEqual(names(r.all), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'README.md']);
});

test('matching is case-insensitive, and the file itself is kept as the blob', async () => {
  const e = entry('MODEL.SafeTensors');
  const r = await classify([e, entry('Config.JSON', '{}')]);
  assert.equal(r.files[0].blob, e.file);
  assert.equal(r.config, '{}');
  assert.equal(r.dir, '');
});

test('a config.json outside the model folder is used unless sideFilesInModelDir', async () => {
  const list = () => [entry('a/b/model.safetensors'), entry('a/config.json', '{"x":1}'), entry('a/c/d/config.json', '{"x":2}')];
  const r = await classify(list());
  assert.equal(r.config, '{"x":1}');
  assert.deepEqual(r.ignored, [{ path: 'a/c/d/config.json', why: 'another copy is used' }]);
  const strict = await classify(list(), { sideFilesInModelDir: true });
  assert.equal(strict.config, null);
  assert.equal(strict.configName, null);
});

test("the model folder's own config.json wins over a shallower one", async () => {
  const r = await classify([entry('config.json', '{"x":0}'), entry('a/b/model.safetensors'), entry('a/b/config.json', '{"x":1}')]);
  assert.equal(r.config, '{"x":1}');
  assert.equal(r.configName, 'a/b/config.json');
  assert.deepEqual(r.ignored, [{ path: 'config.json', why: 'another copy is used' }]);
});

test('a duplicate shard name is ignored', async () => {
  const r = await classify([{ ...entry('model.safetensors'), path: '' }, entry('model.safetensors')]);
  assert.equal(r.files.length, 1);
  assert.deepEqual(r.ignored, [{ path: 'model.safetensors', why: 'duplicate name' }]);
});

test('no safetensors file: a message that counts the files given', async () => {
  await assert.rejects(classify([]), /No files were given/);
  await assert.rejects(classify([entry('a/config.json')]), /among the 1 file given/);
  await assert.rejects(classify([entry('a.bin'), entry('b.gguf')]), /among the 2 files given/);
});

test('a JSON side file over MAX_JSON_BYTES is refused, naming its size', async () => {
  const big = { file: { name: 'config.json', size: MAX_JSON_BYTES + 1, text: () => assert.fail('must not be read') }, path: 'config.json' };
  await assert.rejects(classify([entry('model.safetensors'), big]), /config\.json is 67\.1 MB; JSON side files over 67\.1 MB are not read/);
});
