// OpenWrt PPA: the little the pages need beyond HTML — copy buttons, the feed selector that
// reloads on change, and the live job log over Server-Sent Events. Everything works without it.
"use strict";

// Check runs link a job as #job-<id>: show that job's log, which the server picks by ?job=.
function jobFromHash() {
  const m = location.hash.match(/^#job-(\d+)$/);
  if (m && new URLSearchParams(location.search).get("job") !== m[1]) {
    location.replace(location.pathname + "?job=" + m[1] + "#log");
    return true;
  }
  return false;
}
window.addEventListener("hashchange", jobFromHash);

document.addEventListener("DOMContentLoaded", () => {
  if (jobFromHash()) return;

  // Copy buttons: data-copy names the input whose value is copied.
  for (const btn of document.querySelectorAll("button.copy")) {
    btn.addEventListener("click", async () => {
      const src = document.getElementById(btn.dataset.copy);
      if (!src) return;
      const text = src.value !== undefined ? src.value : src.textContent;
      let ok = false;
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (e) {
        // Older browsers and plain-http pages: select the text and use the legacy command.
        src.select();
        ok = document.execCommand("copy");
      }
      btn.textContent = ok ? "Copied" : "Select and copy";
      btn.dataset.copied = ok ? "yes" : "no";
      setTimeout(() => { btn.textContent = "Copy"; }, 3000);
    });
  }

  // The series/arch selector: a change reloads the install lines.
  const sel = document.getElementById("feed-selector");
  if (sel) {
    for (const b of sel.querySelectorAll(".nojs")) b.hidden = true;
    for (const s of sel.querySelectorAll("select")) {
      s.addEventListener("change", () => sel.submit());
    }
  }

  // Live log: the pre's data-events is the job's event stream.
  const pre = document.querySelector("pre[data-events]");
  if (pre && window.EventSource) {
    const es = new EventSource(pre.dataset.events);
    const note = document.getElementById("log-note");
    es.onmessage = (ev) => {
      const atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      pre.append(ev.data + "\n");
      if (atEnd) pre.lastChild.parentElement.scrollIntoView({block: "end"});
    };
    es.addEventListener("done", (ev) => {
      es.close();
      if (note) note.textContent = "The job finished: " + ev.data + ". Reload the page for its results.";
      const st = document.getElementById("log-status");
      if (st) st.textContent = ev.data;
    });
    es.addEventListener("error", (ev) => {
      if (ev.data && note) note.textContent = ev.data;
    });
  }
});
