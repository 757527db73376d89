using System.Globalization;
using System.Text;
using System.Text.Json;

using ScottPlot;

namespace Tempo.Reports;

/// <summary>Writes results as JSON, CSV and PNG plots.</summary>
public static class ResultsWriter
{
    /// <summary>The results document as indented snake_case JSON.</summary>
    public static string ToJson(ResultsDocument doc) => JsonSerializer.Serialize(doc, ResultsJsonContext.Default.ResultsDocument);

    /// <summary>Reads a results document back (for tools and tests).</summary>
    public static ResultsDocument FromJson(string json) =>
        JsonSerializer.Deserialize(json, ResultsJsonContext.Default.ResultsDocument) ?? throw new FormatException("results file is empty");

    /// <summary>One row per (policy, rate) with totals and per-class attainment and latency percentiles.</summary>
    public static string ToCsv(ResultsDocument doc)
    {
        var sb = new StringBuilder();
        var classes = new[] { "latency", "throughput", "collective" };
        sb.Append("policy,rate,requests,completed,duration_s,service_gain,service_goodput,slo_goodput,attainment,jobs,jobs_met");
        foreach (var c in classes)
        {
            sb.Append(CultureInfo.InvariantCulture, $",{c}_attainment,{c}_ttft_p50,{c}_ttft_p95,{c}_tbt_p50,{c}_tbt_p95,{c}_e2e_p50,{c}_e2e_p95");
        }

        sb.Append(",steps,swap_outs,recomputes\n");
        foreach (var r in doc.Runs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{r.Policy},{r.Rate},{r.Requests},{r.Completed},{r.DurationS:R},{r.ServiceGain:R},{r.ServiceGoodput:R},{r.SloGoodput:R},{r.Attainment:R},{r.Jobs},{r.JobsMet}");
            foreach (var c in classes)
            {
                var m = r.Classes[c];
                sb.Append(CultureInfo.InvariantCulture, $",{m.Attainment:R},{V(m.Ttft.P50)},{V(m.Ttft.P95)},{V(m.Tbt.P50)},{V(m.Tbt.P95)},{V(m.E2e.P50)},{V(m.E2e.P95)}");
            }

            sb.Append(CultureInfo.InvariantCulture, $",{r.Engine.Steps},{r.Engine.SwapOuts},{r.Engine.Recomputes}\n");
        }

        return sb.ToString();

        static string V(double? x) => x is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
    }

    /// <summary>
    /// Writes results.json, results.csv, attainment.png and goodput.png into <paramref name="dir"/>. Everything is
    /// written to a temporary folder first and moved into place only when complete, so a failure leaves nothing
    /// half-written behind.
    /// </summary>
    public static IReadOnlyList<string> WriteDirectory(string dir, ResultsDocument doc)
    {
        var full = Path.GetFullPath(dir);
        var parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        try
        {
            File.WriteAllText(Path.Combine(staging, "results.json"), ToJson(doc));
            File.WriteAllText(Path.Combine(staging, "results.csv"), ToCsv(doc));
            PlotByRate(doc, r => r.Attainment * 100, "SLO attainment (%)", "SLO attainment vs rate", Path.Combine(staging, "attainment.png"));
            PlotByRate(doc, r => r.ServiceGoodput, "service goodput (weighted tokens/s)", "Service goodput vs rate", Path.Combine(staging, "goodput.png"));
            Directory.CreateDirectory(full);
            var written = new List<string>();
            foreach (var file in Directory.GetFiles(staging))
            {
                var target = Path.Combine(full, Path.GetFileName(file));
                File.Move(file, target, overwrite: true);
                written.Add(target);
            }

            return written;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static void PlotByRate(ResultsDocument doc, Func<RunEntry, double> y, string yLabel, string title, string path)
    {
        var plot = new Plot();

        // Eleven policies outgrow the default ten-colour palette; Category20 keeps every line distinct.
        plot.Add.Palette = new ScottPlot.Palettes.Category20();
        foreach (var group in doc.Runs.GroupBy(r => r.Policy))
        {
            var runs = group.OrderBy(r => r.Rate).ToArray();
            var line = plot.Add.Scatter(runs.Select(r => r.Rate).ToArray(), runs.Select(y).ToArray());
            line.LegendText = group.Key;
            line.MarkerSize = 6;
            line.LineWidth = group.Key.StartsWith("tempo", StringComparison.Ordinal) ? 3 : 1.5f;
        }

        plot.Title(title);
        plot.XLabel("offered load (arrivals/s)");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 560);
    }
}
