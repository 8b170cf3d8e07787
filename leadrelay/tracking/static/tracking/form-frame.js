// The embedded inquiry form tells the page around it how tall it is, so the iframe fits its content.
(function () {
  function post() {
    if (window.parent !== window) {
      window.parent.postMessage({leadrelayFormHeight: document.documentElement.scrollHeight}, "*");
    }
  }
  window.addEventListener("load", post);
  if (window.ResizeObserver) {
    new ResizeObserver(post).observe(document.body);
  }
})();
