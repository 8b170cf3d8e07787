// Enter in a search box that filters by HTMX runs the search instead of submitting the surrounding form.
document.addEventListener("keydown", (event) => {
  const input = event.target;
  if (event.key !== "Enter" || !(input instanceof HTMLInputElement) || !input.matches("[data-enter-searches]")) return;
  event.preventDefault();
  if (window.htmx) window.htmx.trigger(input, "search");
});
