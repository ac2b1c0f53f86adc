// Draws the topics page's chart with the vendored Chart.js (no build step).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("topics-data").textContent);
  const canvas = document.getElementById("topics-chart");
  if (!window.Chart || !canvas) return;
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.days,
      datasets: data.series.map((s) => ({ label: s.name, data: s.counts, tension: 0.2 })),
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
});
