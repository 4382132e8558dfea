// Which hosts a shared link may make the visitor's browser contact without
// asking. A link is written by a stranger: opened on page load, it must not
// point the browser at this computer or the visitor's network (a router's
// admin page, a local database, a development server). Hosts of that kind
// are opened only after an explicit click that names the real host.
// No DOM here: the link modules, the workers and the Node tests import it.

/**
 * Why `hostname` (as `new URL(...).hostname` gives it, so numeric spellings
 * such as 0x7f000001, 2130706433 or 127.1 are already dotted quads) is not a
 * public Internet host, or null when it is one:
 * 'loopback', 'private', 'link-local' or 'local name'.
 */
export function localKind(hostname) {
  const h = String(hostname).toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[')) return ipv6Kind(h.slice(1, -1));
  const v4 = ipv4(h);
  if (v4) return ipv4Kind(v4);
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  // One label (an intranet name) or a name that only local resolvers answer.
  if (!h.includes('.') || /\.(local|lan|home|internal|intranet|corp|home\.arpa)$/.test(h)) return 'local name';
  return null;
}

function ipv4(h) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : null;
}

function ipv4Kind([a, b]) {
  if (a === 127 || a === 0) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  return null;
}

function ipv6Kind(h) {
  // The URL parser writes IPv6 compressed and lower-case; expand the groups.
  const [head, tail = null] = h.split('::');
  const part = (s) => (s ? s.split(':') : []);
  const left = part(head);
  const right = tail == null ? [] : part(tail);
  // An embedded dotted quad (the parser never emits one, but be safe).
  const last = right.length ? right : left;
  if (last.length && last[last.length - 1].includes('.')) {
    const q = ipv4(last.pop());
    if (!q) return 'local name';
    last.push(((q[0] << 8) | q[1]).toString(16), ((q[2] << 8) | q[3]).toString(16));
  }
  const fill = tail == null ? [] : Array(Math.max(0, 8 - left.length - right.length)).fill('0');
  const g = [...left, ...fill, ...right].map((x) => parseInt(x, 16) || 0);
  if (g.length !== 8) return 'local name';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] <= 1) return 'loopback'; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d)
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return ipv4Kind([g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255]);
  }
  if ((g[0] & 0xfe00) === 0xfc00) return 'private'; // fc00::/7
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  return null;
}

/** `host` (hostname and port, as URL.host gives it) of an address, or null when it does not parse. */
export function hostOf(address) {
  try {
    return new URL(address).host;
  } catch {
    return null;
  }
}

/**
 * The hosts of `addresses` that need the visitor's consent: [{host, kind}],
 * each host once, in order. `allowed` is a Set of hosts already confirmed.
 */
export function hostsToConfirm(addresses, allowed = new Set()) {
  const out = [];
  for (const a of addresses) {
    let u;
    try {
      u = new URL(a);
    } catch {
      continue;
    }
    const kind = localKind(u.hostname);
    if (kind && !allowed.has(u.host) && !out.some((x) => x.host === u.host)) out.push({ host: u.host, kind });
  }
  return out;
}

/** The sentence that names the hosts and what they are. */
export function describeHosts(list) {
  const what = { loopback: 'this computer', private: 'a private network address', 'link-local': 'a link-local address', 'local name': 'a local network name' };
  return list.map((x) => `${x.host} (${what[x.kind]})`).join(', ');
}
