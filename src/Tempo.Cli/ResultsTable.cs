using System.Globalization;

using Spectre.Console;

using Tempo.Reports;

namespace Tempo.Cli;

/// <summary>Renders results as a console table: one row per (rate, policy).</summary>
internal static class ResultsTable
{
    public static void Write(IAnsiConsole console, ResultsDocument doc)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("rate", "policy", "attain", "lat", "thr", "coll", "jobs", "gain/s", "SLO/s", "lat TTFT s p50/p95", "lat TBT ms p50/p95", "thr E2E s p50/p95");
        foreach (var c in table.Columns.Skip(2))
        {
            c.RightAligned();
        }

        foreach (var rate in doc.Runs.GroupBy(r => r.Rate).OrderBy(g => g.Key))
        {
            var best = rate.Max(r => r.ServiceGoodput);
            foreach (var r in rate)
            {
                var lat = r.Classes["latency"];
                var thr = r.Classes["throughput"];
                var coll = r.Classes["collective"];
                var goodput = F(r.ServiceGoodput, "N0");
                table.AddRow(
                    F(r.Rate, "0.##"),
                    Markup.Escape(r.Policy),
                    Pct(r.Attainment),
                    lat.Requests > 0 ? Pct(lat.Attainment) : "-",
                    thr.Requests > 0 ? Pct(thr.Attainment) : "-",
                    coll.Requests > 0 ? Pct(coll.Attainment) : "-",
                    r.Jobs > 0 ? $"{r.JobsMet}/{r.Jobs}" : "-",
                    r.ServiceGoodput >= best ? $"[bold]{goodput}[/]" : goodput,
                    F(r.SloGoodput, "0.00"),
                    Pair(lat.Ttft.P50, lat.Ttft.P95, 1, "0.00"),
                    Pair(lat.Tbt.P50, lat.Tbt.P95, 1000, "0"),
                    Pair(thr.E2e.P50, thr.E2e.P95, 1, "0.0"));
            }
        }

        console.Write(table);
        console.MarkupLine("[grey]attain = fraction of requests meeting their SLO (latency: TTFT and every gap within TBT); service goodput = exact service gain per second (prompt ×1, output ×8); bold = best at that rate.[/]");
    }

    private static string Pct(double x) => (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string F(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);

    private static string Pair(double? a, double? b, double scale, string format) =>
        a is { } x && b is { } y ? $"{F(x * scale, format)}/{F(y * scale, format)}" : "-";
}
