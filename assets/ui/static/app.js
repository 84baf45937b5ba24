// railyard dashboard: live updates by polling the page's server-rendered fragment
// (data-live) every few seconds and swapping it in. The page works without this script.
(() => {
  const live = document.getElementById('live');
  const status = document.getElementById('live-status');
  if (!live?.dataset.live) return;
  const everyMs = Number(live.dataset.interval || 2000);
  let failing = false;
  const say = (text) => {
    if (status) status.textContent = text;
  };
  say(`Live: updates every ${everyMs / 1000} s.`);
  const tick = async () => {
    if (document.hidden) return;
    try {
      const res = await fetch(live.dataset.live, { cache: 'no-store', credentials: 'same-origin' });
      // The session ended (expired, signed out elsewhere): reloading leads to the sign-in page.
      if (res.status === 401) return window.location.reload();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      live.innerHTML = await res.text();
      live.dataset.updated = String(Date.now());
      if (failing) say(`Live: updates every ${everyMs / 1000} s.`);
      failing = false;
    } catch (err) {
      if (!failing) say(`Live updates paused (${err.message}); retrying.`);
      failing = true;
    }
  };
  setInterval(tick, everyMs);
})();
