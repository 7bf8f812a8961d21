// The management and OpenAI APIs with the signed-in key. Every failure becomes an Error whose message is the
// server's own one line (OpenAI's error shape), so pages show what the API said.
const KEY = 'mledger.key';

export const session = { key: sessionStorage.getItem(KEY), role: null, account: null };

export function setKey(key) {
  session.key = key;
  if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY);
}

function headers(extra) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error?.message) message = body.error.message;
  } catch { /* not JSON: keep the status line */ }
  const error = new Error(message);
  error.status = response.status;
  return error;
}

export async function call(method, path, body, contentType = 'application/json') {
  const init = { method, headers: headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = contentType;
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export const get = path => call('GET', path);
export const post = (path, body, type) => call('POST', path, body, type);

// Server-sent events over fetch (EventSource cannot send the Authorization header). Calls onEvent(name, data, id)
// per event until the stream ends or signal aborts.
export async function events(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = 'message', id = null; const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      onEvent(name, data.join('\n'), id);
    }
  }
}

// POSTs body with stream: true and calls onData(parsed JSON) for each `data:` line of the server-sent events until
// `data: [DONE]` or the end of the stream.
async function postStream(path, body, onData, signal) {
  const response = await fetch(path, {
    method: 'POST', signal, headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 1);
      if (line.startsWith('data: ') && line !== 'data: [DONE]') onData(JSON.parse(line.slice(6)));
    }
  }
}

// A RAG answer streamed (POST /v1/gui/rag): onDelta(text) per piece of the answer; resolves to the whole result
// (documents and their attribution) the server sends last.
export async function streamRag(body, onDelta, signal) {
  let result = null;
  await postStream('/v1/gui/rag', body, event => {
    if (event.delta !== undefined) onDelta(event.delta);
    else if (event.error) throw new Error(event.error.message);
    else result = event;
  }, signal);
  if (!result) throw new Error('the answer ended before its attribution arrived');
  return result;
}

// OpenAI chat completion streamed: onDelta(text) per chunk; resolves to the completion id.
export async function streamChat(body, onDelta, signal) {
  let id = null;
  await postStream('/v1/chat/completions', body, chunk => {
    id = chunk.id ?? id;
    const text = chunk.choices?.[0]?.delta?.content;
    if (text) onDelta(text);
  }, signal);
  return id;
}
