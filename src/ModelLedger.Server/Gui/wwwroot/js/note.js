// C2SP signed-note verification in the browser (WebCrypto Ed25519; docs/ledger.md "Checkpoints"), so the signed
// root the inclusion proof is checked against does not have to be taken on the server's word either. Verifier key:
// name+8 hex key ID+base64(0x01 || 32-byte public key); key ID = the first 4 bytes of SHA-256(name || 0x0A || 0x01
// || public key); a signature line is "— name base64(4-byte key ID || 64-byte Ed25519 signature)" over the note's
// text up to and including the newline before the blank line.
import { base64Bytes } from './merkle.js';

const utf8 = text => new TextEncoder().encode(text);
const hex = bytes => [...bytes].map(b => b.toString(16).padStart(2, '0')).join('');

function parseKey(vkey) {
  const first = vkey.indexOf('+'), second = vkey.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('the verifier key is not name+keyid+key');
  const name = vkey.slice(0, first), id = vkey.slice(first + 1, second), blob = base64Bytes(vkey.slice(second + 1));
  if (!/^[0-9a-f]{8}$/.test(id)) throw new Error('the verifier key ID is not 8 hex digits');
  if (blob.length !== 33 || blob[0] !== 1) throw new Error('the verifier key is not an Ed25519 (type 0x01) key');
  return { name, id, publicKey: blob.slice(1) };
}

async function keyId(name, publicKey) {
  const preimage = new Uint8Array([...utf8(name), 0x0a, 0x01, ...publicKey]);
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', preimage)).slice(0, 4));
}

// { ok, reason }: ok when a signature line by the key's name and ID verifies over the note's text.
export async function verifyNote(note, vkey) {
  let key;
  try { key = parseKey(vkey.trim()); } catch (e) { return { ok: false, reason: e.message }; }
  if (await keyId(key.name, key.publicKey) !== key.id)
    return { ok: false, reason: 'the verifier key ID does not match its public key' };
  const cut = note.indexOf('\n\n');
  if (cut < 0) return { ok: false, reason: 'the note has no blank line before its signatures' };
  const text = note.slice(0, cut + 1);
  const lines = note.slice(cut + 2).split('\n').filter(l => l.startsWith(`\u2014 ${key.name} `));
  if (!lines.length) return { ok: false, reason: `the note has no signature by ${key.name}` };
  const publicKey = await crypto.subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
  for (const line of lines) {
    let blob;
    try { blob = base64Bytes(line.slice(key.name.length + 3)); } catch { continue; }
    if (blob.length !== 68 || hex(blob.slice(0, 4)) !== key.id) continue;
    if (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, blob.slice(4), utf8(text)))
      return { ok: true, reason: `signed by ${key.name}+${key.id}` };
  }
  return { ok: false, reason: `no signature by ${key.name}+${key.id} verifies over this note` };
}
