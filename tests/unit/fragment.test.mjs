// Unit tests of link/fragment.js: the fragment of a shared link, parsed and built back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseFragment, buildFragment, sourceOf, DEFAULT_HUB } from '../../www/link/fragment.js';

const HEX = 'ab'.repeat(32);

test('parses every parameter, decoding percent escapes', () => {
  const p = parseFragment('#url=https://h.example/m%20x/model.safetensors&scheme=affine4&compare=int8-channel&policy=mlx'
    + '&filter=attention%20q&layer=encoder.layer.0.w&warn=0.5&bad=2&view=header');
  assert.equal(p.url, 'https://h.example/m x/model.safetensors');
  assert.equal(p.scheme, 'affine4');
  assert.equal(p.compare, 'int8-channel');
  assert.equal(p.policy, 'mlx');
  assert.equal(p.filter, 'attention q');
  assert.equal(p.layer, 'encoder.layer.0.w');
  assert.equal(p.warn, 0.5);
  assert.equal(p.bad, 2);
  assert.equal(p.view, 'header');
  assert.equal(p.hf, null);
});

test('empty, missing, negative and non-numeric values read as absent', () => {
  const p = parseFragment('url=&warn=-1&bad=abc&layer=');
  assert.equal(p.url, null);
  assert.equal(p.warn, null);
  assert.equal(p.bad, null);
  assert.equal(p.layer, null);
  assert.deepEqual(parseFragment('').sha256, []);
  assert.deepEqual(parseFragment(undefined).shaErrors, []);
});

test('sha256=: FILE:HEX pairs, hex lower-cased; malformed parts kept as errors', () => {
  const p = parseFragment(`sha256=model.safetensors:${HEX.toUpperCase()},bad:123,:${HEX},a:b:${HEX}`);
  assert.deepEqual(p.sha256, [{ file: 'model.safetensors', hex: HEX }, { file: 'a:b', hex: HEX }]);
  assert.deepEqual(p.shaErrors, ['bad:123', `:${HEX}`]);
});

test('against= and against-hf= name the original side', () => {
  const p = parseFragment('hf=org/conv&against-hf=org/orig@v1&hub=https://hub.example');
  assert.deepEqual(sourceOf(p), { kind: 'hf', id: 'org/conv', hub: 'https://hub.example' });
  assert.deepEqual(sourceOf(p, true), { kind: 'hf', id: 'org/orig@v1', hub: 'https://hub.example' });
  assert.deepEqual(sourceOf(parseFragment('url=https://a/x.safetensors')), { kind: 'url', url: 'https://a/x.safetensors' });
  assert.equal(sourceOf(parseFragment('scheme=affine8')), null);
  assert.equal(sourceOf(parseFragment('hf=org/name')).hub, DEFAULT_HUB);
});

test('buildFragment leaves out defaults and keeps / : @ , readable', () => {
  assert.equal(buildFragment({ hf: 'org/name@main', hub: DEFAULT_HUB, scheme: 'int8-tensor', policy: 'default', warn: 1, bad: 5 }), 'hf=org/name@main');
  assert.equal(buildFragment({ url: 'https://h/a b.safetensors', warn: 2, bad: 5 }), 'url=https://h/a%20b.safetensors&warn=2');
  assert.equal(buildFragment({ hf: 'o/n', sha256: [{ file: 'a.safetensors', hex: HEX }, { file: 'b.safetensors', hex: HEX }] }),
    `hf=o/n&sha256=a.safetensors:${HEX},b.safetensors:${HEX}`);
});

test('a built fragment parses back to the same view', () => {
  const view = {
    url: 'https://h.example/dir/model.safetensors?x=1&y=2', scheme: 'affine8', compare: 'affine4', policy: 'mlx',
    filter: 'q&k=v', layer: 'a.b#c', warn: 0.25, bad: 3, sha256: [{ file: 'model.safetensors', hex: HEX }], view: 'header', outputs: true,
  };
  const p = parseFragment(`#${buildFragment(view)}`);
  for (const k of Object.keys(view)) assert.deepEqual(p[k], view[k], k);
  assert.deepEqual(p.shaErrors, []);
});
