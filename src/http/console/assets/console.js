// hookbot console: progressive enhancement only. Every action works without this file as a
// plain form; this adds copy buttons and the live runs list.
"use strict";

// A "Copy" button on every element marked data-copy (its text is what is copied).
function addCopyButtons() {
  for (const source of document.querySelectorAll("[data-copy]")) {
    if (!navigator.clipboard) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (source.getAttribute("data-copy") || "text"));
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch (_) {
        button.textContent = "Select and copy";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
    source.parentElement.appendChild(button);
  }
}

// An element with data-live="SECONDS" is fetched again from this page's URL every so often and
// replaced by the new copy of itself, while the tab is visible.
function liveRegions() {
  for (const region of document.querySelectorAll("[data-live][id]")) {
    const seconds = Math.max(1, Number(region.getAttribute("data-live")) || 3);
    setInterval(async () => {
      if (document.hidden) return;
      try {
        const answer = await fetch(location.href, { headers: { "Accept": "text/html" } });
        if (!answer.ok) return;
        const fresh = new DOMParser()
          .parseFromString(await answer.text(), "text/html")
          .getElementById(region.id);
        const current = document.getElementById(region.id);
        if (fresh && current && fresh.innerHTML !== current.innerHTML) {
          current.innerHTML = fresh.innerHTML;
        }
      } catch (_) { /* the next tick tries again */ }
    }, seconds * 1000);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  addCopyButtons();
  liveRegions();
});
