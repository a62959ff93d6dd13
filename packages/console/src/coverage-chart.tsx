import type { Coverage } from '@screengraph/client';
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const COLORS = ['#2563eb', '#16a34a', '#ea580c', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#b45309'];

/** Screens each run discovered first, over its steps (seqs): one stepped line per run. */
export function CoverageChart({ coverage }: { coverage: Coverage }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        datasets: coverage.perRun.map((run, index) => ({
          label: `${run.runId.slice(0, 10)}… (${run.newScreens} new)`,
          data: [{ x: 0, y: 0 }, ...run.series.map(([seq, screens]) => ({ x: seq, y: screens }))],
          stepped: 'before' as const,
          borderColor: COLORS[index % COLORS.length],
          backgroundColor: COLORS[index % COLORS.length],
          pointRadius: 2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step (event seq)' }, beginAtZero: true },
          y: {
            type: 'linear',
            title: { display: true, text: 'new screens found' },
            beginAtZero: true,
            ticks: { precision: 0 },
          },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => chart.destroy();
  }, [coverage]);
  return (
    <div class="chart-box">
      <canvas
        ref={canvas}
        data-testid="coverage-chart"
        data-runs={coverage.perRun.length}
        aria-label="New screens found over each run's steps"
      />
    </div>
  );
}
