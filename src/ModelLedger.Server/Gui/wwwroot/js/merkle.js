// RFC 9162 inclusion proof verification in the browser (WebCrypto SHA-256), so the user need not trust the server:
// leaf hash = SHA-256(0x00 || leaf bytes), node = SHA-256(0x01 || left || right), and the root recomputed from the
// leaf and its audit path (RFC 9162 §2.1.3.2) must equal the root of a checkpoint.
const hex = bytes => [...bytes].map(b => b.toString(16).padStart(2, '0')).join('');
export const unhex = text => new Uint8Array(text.match(/../g).map(h => parseInt(h, 16)));

async function sha256(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

export const leafHash = async bytes => hex(await sha256(new Uint8Array([0]), bytes));
const node = (l, r) => sha256(new Uint8Array([1]), l, r);

// The root the proof leads to, as hex; throws when the path has the wrong length for (index, size).
export async function rootFromInclusion(index, size, leafHashHex, path) {
  if (index < 0 || index >= size) throw new Error(`index ${index} is outside a tree of ${size}`);
  let fn = index, sn = size - 1, r = unhex(leafHashHex);
  for (const p of path.map(unhex)) {
    if (sn === 0) throw new Error('the proof is longer than the tree allows');
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else r = await node(r, p);
    fn >>= 1; sn >>= 1;
  }
  if (sn !== 0) throw new Error('the proof is shorter than the tree needs');
  return hex(r);
}

export function base64Bytes(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, c => c.charCodeAt(0));
}
