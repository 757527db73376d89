using System.Globalization;
using System.Text;

using Tempo.Core;

namespace Tempo.Reports;

/// <summary>
/// The per-request export (<c>--records FILE.csv</c>, documented in docs/RESULTS.md): one row per request record of
/// every run, so a simulated and a measured run of the same workload can be joined on (policy, id).
/// </summary>
public static class RecordsCsv
{
    /// <summary>The header row's column names, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "policy", "rate", "id", "class", "job_id", "stage", "arrival_s", "prompt_tokens", "output_tokens", "generated",
        "ttft_s", "e2e_s", "max_gap_s", "finish", "slo_met", "gain", "detail",
    ];

    /// <summary>Header and one row per record, runs in the given order, records in run order (invariant culture).</summary>
    public static string ToCsv(IEnumerable<RunRecords> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var sb = new StringBuilder();
        sb.AppendJoin(',', Columns).Append('\n');
        foreach (var run in runs)
        {
            var verdicts = RequestVerdict.Of(run.Records, run.Weights);
            var policy = CsvText.Field(run.Policy);
            var rate = run.Rate.ToString("R", CultureInfo.InvariantCulture);
            for (var i = 0; i < run.Records.Count; i++)
            {
                AppendRow(sb, policy, rate, run.Records[i], verdicts[i]);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Writes <see cref="ToCsv"/> to <paramref name="path"/> (parent folders created). The text goes to a temporary
    /// sibling first and is moved into place only when complete, so a failed run never leaves a half-written file.
    /// Returns the number of rows.
    /// </summary>
    public static int Write(string path, IReadOnlyCollection<RunRecords> runs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(runs);
        AtomicFile.WriteAllText(path, ToCsv(runs));
        return runs.Sum(r => r.Records.Count);
    }

    private static void AppendRow(StringBuilder sb, string policy, string rate, RequestRecord r, RequestVerdict verdict)
    {
        var inv = CultureInfo.InvariantCulture;
        var spec = r.Spec;
        sb.Append(policy).Append(',').Append(rate).Append(',');
        sb.Append(inv, $"{spec.Id},{RunEntry.ClassName(spec.Class)},{spec.JobId},{spec.Stage},{r.ArrivalS:R},");
        sb.Append(inv, $"{spec.PromptTokens},{spec.OutputTokens},{r.TokenTimesS.Count},");
        sb.Append(r.TtftS is { } ttft ? ttft.ToString("R", inv) : string.Empty).Append(',');
        sb.Append(inv, $"{r.E2eS:R},");
        sb.Append(MaxGap(r.TokenTimesS) is { } gap ? gap.ToString("R", inv) : string.Empty).Append(',');
        sb.Append(inv, $"{r.Reason.ToString().ToLowerInvariant()},{(verdict.SloMet ? 1 : 0)},{verdict.Gain:R},");
        sb.Append(CsvText.Field(r.Detail ?? string.Empty)).Append('\n');
    }

    /// <summary>The longest gap between consecutive output tokens (what breaks a stream's TBT first); null below two tokens.</summary>
    private static double? MaxGap(IReadOnlyList<double> times)
    {
        double? max = null;
        for (var i = 1; i < times.Count; i++)
        {
            var gap = times[i] - times[i - 1];
            max = max is { } m && m >= gap ? m : gap;
        }

        return max;
    }
}
