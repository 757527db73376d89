using System.Globalization;

namespace Tempo.Workloads;

/// <summary>One row of a token-count trace: arrival (in ticks of 100 ns), prompt and output tokens.</summary>
/// <param name="Ticks">Arrival time in 100 ns ticks (absolute; rebased on replay).</param>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
internal readonly record struct TraceRow(long Ticks, int PromptTokens, int OutputTokens);

/// <summary>Parsed rows plus the rows that were left out and why.</summary>
/// <param name="Rows">Usable rows in arrival order.</param>
/// <param name="ZeroTokenRows">Rows skipped because a token count was zero (failed requests in some traces).</param>
internal sealed record TraceRows(IReadOnlyList<TraceRow> Rows, int ZeroTokenRows);

/// <summary>
/// Reader and replayer of the Azure LLM inference trace CSV format (<c>TIMESTAMP,ContextTokens,GeneratedTokens</c>,
/// timestamps like <c>2023-11-16 18:15:46.6805900</c>). BurstGPT's column names (<c>Timestamp</c> in seconds,
/// <c>Request tokens</c>, <c>Response tokens</c>) are accepted too, since the artifact's burst mode replays that trace.
/// </summary>
internal static class AzureTrace
{
    private static readonly string[] TimeColumns = ["TIMESTAMP"];
    private static readonly string[] PromptColumns = ["ContextTokens", "Request tokens"];
    private static readonly string[] OutputColumns = ["GeneratedTokens", "Response tokens"];
    private static readonly string[] DateFormats = ["yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];

    /// <summary>Parses a trace; throws <see cref="FormatException"/> "<c>source line N: problem</c>" on the first malformed line.</summary>
    public static TraceRows Parse(TextReader reader, string sourceName)
    {
        var header = reader.ReadLine() ?? throw new FormatException($"{sourceName} line 1: the file is empty; expected a header TIMESTAMP,ContextTokens,GeneratedTokens.");
        var names = header.Split(',').Select(h => h.Trim().Trim('"')).ToList();
        var time = Column(names, TimeColumns, sourceName);
        var prompt = Column(names, PromptColumns, sourceName);
        var output = Column(names, OutputColumns, sourceName);

        var rows = new List<TraceRow>();
        var zero = 0;
        var lineNo = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length < names.Count)
            {
                throw new FormatException($"{sourceName} line {lineNo}: expected {names.Count} comma-separated fields, got {fields.Length}.");
            }

            var ticks = ParseTime(fields[time].Trim().Trim('"'), names[time], sourceName, lineNo);
            var p = ParseTokens(fields[prompt], names[prompt], sourceName, lineNo);
            var o = ParseTokens(fields[output], names[output], sourceName, lineNo);
            if (p == 0 || o == 0)
            {
                zero++;
                continue;
            }

            rows.Add(new TraceRow(ticks, p, o));
        }

        // Traces are recorded in order; a stable sort only matters for hand-edited files.
        return new TraceRows([.. rows.OrderBy(r => r.Ticks)], zero);
    }

    /// <summary>
    /// Replays the first N rows (all when N is null or larger than the trace), rebased to t = 0 and rescaled to the
    /// requested mean rate. Each row is one top-level arrival; classes are assigned to rows by the create_trace rule
    /// and shuffled with the seed. Latency and throughput rows keep their token counts; a tree-of-thought row becomes
    /// a [3,1,3,1] job shaped from its tokens; a deep-research row keeps only its arrival time and gets the next
    /// recorded job. Rows whose prompt + output exceed the model context are kept: the engine rejects them and says so.
    /// </summary>
    public static Workload Replay(TraceRows trace, string name, WorkloadOptions options)
    {
        var total = trace.Rows.Count;
        if (total == 0)
        {
            throw new FormatException($"{name}: the trace has no usable rows.");
        }

        var n = Math.Min(options.Requests ?? total, total);
        var rows = trace.Rows.Take(n).ToList();
        var times = rows.Select(r => (r.Ticks - rows[0].Ticks) / (double)TimeSpan.TicksPerSecond).ToList();
        var factor = ArrivalTimes.RescaleFactor(times, options.Rate);

        var counts = MixCounts.Of(n, options.Ratio, options.TotFraction);
        var kinds = counts.MainKinds();
        kinds.AddRange(Enumerable.Repeat(ArrivalKind.DeepResearch, counts.DeepResearch));
        new Sampler(options.Seed, WorkloadStream.Classes).Shuffle(kinds);

        var builder = new WorkloadBuilder(options);
        for (var i = 0; i < n; i++)
        {
            builder.Add(kinds[i], times[i] * factor, options.Multiplier(i), rows[i].PromptTokens, rows[i].OutputTokens, null, 0);
        }

        return builder.Build(Describe(name, n, total, options.Requests, trace.ZeroTokenRows));
    }

    private static string Describe(string name, int used, int total, int? requested, int zeroRows)
    {
        var parts = new List<string>();
        if (requested is { } r && r > total)
        {
            parts.Add($"all {total} rows; {r} requested");
        }
        else if (used < total)
        {
            parts.Add($"first {used} of {total} rows");
        }

        if (zeroRows > 0)
        {
            parts.Add($"{zeroRows} zero-token rows skipped");
        }

        return parts.Count == 0 ? name : $"{name} ({string.Join("; ", parts)})";
    }

    private static int Column(List<string> names, string[] accepted, string sourceName)
    {
        var i = names.FindIndex(n => accepted.Any(a => string.Equals(a, n, StringComparison.OrdinalIgnoreCase)));
        return i >= 0
            ? i
            : throw new FormatException($"{sourceName} line 1: no {string.Join(" or ", accepted)} column in the header '{string.Join(",", names)}'.");
    }

    private static long ParseTime(string field, string column, string sourceName, int lineNo)
    {
        if (DateTime.TryParseExact(field, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when))
        {
            return when.Ticks;
        }

        // BurstGPT-style: seconds since the start of the trace.
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0 && seconds < 1e9)
        {
            return (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
        }

        throw new FormatException($"{sourceName} line {lineNo}: {column} '{field}' is neither a time like 2023-11-16 18:15:46.6805900 nor a non-negative number of seconds.");
    }

    private static int ParseTokens(string field, string column, string sourceName, int lineNo)
    {
        var text = field.Trim().Trim('"');
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"{sourceName} line {lineNo}: {column} '{text}' is not a non-negative integer.");
    }
}
