/** Where a workload's chart goes inside a suite folder, e.g. chartFile('latency', 'tcp/echo') → charts/latency-tcp_echo.svg. */
export function chartFile(kind: 'throughput' | 'latency' | 'load', workload: string): string {
  return `charts/${kind}-${workload.replace(/[^A-Za-z0-9.-]+/g, '_')}.svg`;
}
