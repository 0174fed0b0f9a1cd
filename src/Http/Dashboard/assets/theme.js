// Runs in <head>, before the first paint, so a saved theme shows without a flash.
(function () {
  'use strict';
  try {
    var theme = localStorage.getItem('resultgrid.theme');
    if (theme === 'light' || theme === 'dark' || theme === 'system') {
      document.documentElement.setAttribute('data-theme', theme);
    }
  } catch (e) {
    // Storage refused (private mode, policy): the system theme it is.
  }
})();
