window.atrErrors = [];
function atrRecordError(msg) {
  window.atrErrors.push(String(msg));
  document.documentElement.setAttribute('data-js-errors', String(window.atrErrors.length));
  var box = document.getElementById('js-errors');
  if (box) { box.hidden = false; box.textContent = 'Script errors: ' + window.atrErrors.join('; '); }
}
window.addEventListener('error', function (e) { atrRecordError(e.message || 'error'); });
window.addEventListener('unhandledrejection', function (e) { atrRecordError('unhandled rejection: ' + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    atrRecordError(Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
