// The explicit click a shared link needs before it reads from this computer
// or the visitor's network (guard.js decides which hosts those are;
// resolve.js and http.js refuse them with a RemoteError of kind 'confirm' naming them).
// Hosts confirmed here stay confirmed for this tab.

const confirmed = new Set();

/** The hosts this tab has agreed to read from. */
export function confirmedHosts() {
  return confirmed;
}

/** Marks the hosts of addresses the visitor typed as agreed to: typing one is the explicit act. */
export function confirmTyped(...addresses) {
  for (const a of addresses) {
    try {
      confirmed.add(new URL(a).host);
    } catch {
      // not an address: nothing to confirm
    }
  }
}

/** Removes a pending confirmation button, if any. */
export function withdrawConfirm() {
  document.getElementById('link-confirm')?.remove();
}

/**
 * Puts a button naming `hosts` ([{host, kind}]) right after `anchor`; a
 * click confirms them and calls `retry`.
 */
export function offerConfirm(anchor, hosts, retry) {
  withdrawConfirm();
  const b = document.createElement('button');
  b.type = 'button';
  b.id = 'link-confirm';
  b.dataset.testid = 'link-confirm';
  b.textContent = `Read from ${hosts.map((h) => h.host).join(', ')}`;
  b.addEventListener('click', () => {
    for (const h of hosts) confirmed.add(h.host);
    b.remove();
    retry();
  });
  anchor.after(b);
}
