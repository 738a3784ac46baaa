// api.js -- every call the console makes to the gateway goes through here, so that the API
// key (kept in sessionStorage: it leaves with the tab) and the error shape are handled once.

const KEY = "aiops.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

// A non-2xx answer: the gateway's {"error": {"code", "message", "details"}}.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.details = e.details || null;
  }
  // 404 / 501: the route or the service behind it is not there yet (a page degrades)
  get missing() {
    return this.status === 404 || this.status === 501;
  }
}

function headers(extra) {
  const h = Object.assign({}, extra);
  const k = apiKey();
  if (k) h["X-API-Key"] = k; // without one the no-auth playground still answers
  return h;
}

async function decode(res) {
  const type = res.headers.get("Content-Type") || "";
  if (type.startsWith("application/json")) return res.json();
  return res.text();
}

export async function api(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, init);
  const data = res.status === 204 ? null : await decode(res);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (p) => api("GET", p);
export const post = (p, b) => api("POST", p, b === undefined ? {} : b);
export const put = (p, b) => api("PUT", p, b);

// Uploads a File as a text/csv body; XMLHttpRequest because fetch reports no upload progress.
export function uploadCsv(file, onProgress, target) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let q = "?filename=" + encodeURIComponent(file.name);
    if (target) q += "&target=" + encodeURIComponent(target);
    xhr.open("POST", "/api/upload" + q);
    const h = headers({ "Content-Type": "text/csv" });
    for (const k of Object.keys(h)) xhr.setRequestHeader(k, h[k]);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.send(file);
  });
}

// A WebSocket on the gateway; browsers cannot set headers on one, so the key rides in the
// query (?api_key=, which the gateway accepts for WebSockets only).
export function openSocket(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const k = apiKey();
  const q = k ? (path.includes("?") ? "&" : "?") + "api_key=" + encodeURIComponent(k) : "";
  return new WebSocket(proto + "//" + location.host + path + q);
}
