// app.js -- the console's shell: navigation (hash routes, so that the gateway serves one
// page), the language toggle and the API key field. Each page is a module under pages/
// exporting render(main, params) and optionally a cleanup function it returns.
import { apiKey, setApiKey } from "./api.js";
import { h } from "./dom.js";
import { applyStatic, lang, setLang, t } from "./i18n.js";

const PAGES = [
  ["home", "./pages/home.js"],
  ["data", "./pages/data.js"],
  ["train", "./pages/train.js"],
  ["runs", "./pages/runs.js"],
  ["models", "./pages/models.js"],
  ["explain", "./pages/explain.js"],
  ["monitor", "./pages/monitor.js"],
  ["segments", "./pages/segments.js"],
  ["calls", "./pages/calls.js"],
];

let cleanup = null;

function current() {
  // #/train?dataset=ID -> ["train", URLSearchParams]
  const raw = location.hash.replace(/^#\/?/, "");
  const [name, query] = raw.split("?");
  const known = PAGES.find(([n]) => n === name);
  return [known ? name : "home", new URLSearchParams(query || "")];
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  nav.replaceChildren(
    ...PAGES.map(([name]) =>
      h("a", {
        href: "#/" + name,
        class: name === active ? "active" : null,
        "aria-current": name === active ? "page" : null,
        text: t(name),
      })
    )
  );
}

async function show() {
  const [name, params] = current();
  renderNav(name);
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const main = document.getElementById("page");
  main.replaceChildren();
  const mod = await import(PAGES.find(([n]) => n === name)[1]);
  cleanup = mod.render(main, params);
  document.title = "AIOps · " + t(name);
}

function setup() {
  setLang(lang());
  applyStatic(document);
  const key = document.getElementById("api-key");
  key.value = apiKey();
  key.addEventListener("change", () => {
    setApiKey(key.value.trim());
    show();
  });
  const toggle = document.getElementById("lang");
  toggle.textContent = lang() === "ko" ? "EN" : "한국어";
  toggle.addEventListener("click", () => {
    setLang(lang() === "ko" ? "en" : "ko");
    toggle.textContent = lang() === "ko" ? "EN" : "한국어";
    applyStatic(document);
    show();
  });
  window.addEventListener("hashchange", show);
  show();
}

setup();
