// The dashboard: reads the daemon's /api/now (host numbers of the latest interval).
"use strict";
(async () => {
  const line = document.getElementById("host-line");
  try {
    const r = await fetch("api/now");
    const now = await r.json();
    line.textContent = `CPU ${now.host.cpu_busy_pct.toFixed(1)}%`;
  } catch (e) {
    line.textContent = `no data: ${e.message}`;
  }
})();
