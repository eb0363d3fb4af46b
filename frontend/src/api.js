// The JSON API. State-changing calls are POSTs carrying the session token that the
// server wrote into the page (<meta name="sheer-token">); the browser adds the Origin.
const token = document.querySelector('meta[name="sheer-token"]')?.getAttribute('content') ?? '';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiError(0, 'The server did not answer. Is `sheer dev` still running?');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // a non-JSON answer (a proxy's error page): reported by status below
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.error ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

export const get = (path) => call(path);

export const post = (path, body) => call(path, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'X-Sheer-Token': token },
  body: JSON.stringify(body),
});
