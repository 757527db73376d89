using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Tempo.Engine;

/// <summary>One executed step as written to a step log: when it ran, how long it took and what it processed.</summary>
/// <param name="AtS">Clock time when the step started, seconds.</param>
/// <param name="DurationS">Measured (or modelled) duration, seconds.</param>
/// <param name="Work">The forward pass's sequences.</param>
/// <param name="SwapBlocks">KV blocks moved before the pass (out plus in).</param>
public sealed record LoggedStep(double AtS, double DurationS, IReadOnlyList<WorkShape> Work, int SwapBlocks);

/// <summary>
/// A JSON-lines log of executed steps, one object per line:
/// <c>{"at_s":12.5,"ms":31.2,"swap_blocks":0,"work":[[tokens,context_before,is_decode,produces_token],...]}</c>
/// (the two flags as 0/1). It lets a real engine's steps be priced again by a cost model afterwards, which is how
/// the simulator's per-step error is measured (<c>tempo fidelity</c>).
/// </summary>
public static class StepLog
{
    /// <summary>Formats one step as a log line (no newline).</summary>
    public static string Format(double atS, double durationS, IReadOnlyList<BatchEntry> entries, int swapBlocks)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var sb = new StringBuilder(48 + (entries.Count * 16));
        sb.Append(CultureInfo.InvariantCulture, $"{{\"at_s\":{atS:0.######},\"ms\":{durationS * 1000:0.####},\"swap_blocks\":{swapBlocks},\"work\":[");
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            sb.Append(i == 0 ? "[" : ",[")
                .Append(e.Tokens.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(e.ContextBefore.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(e.IsDecode ? '1' : '0').Append(',')
                .Append(e.ProducesToken ? '1' : '0').Append(']');
        }

        return sb.Append("]}").ToString();
    }

    /// <summary>
    /// Reads a step log. Blank lines are skipped; a malformed line throws <see cref="FormatException"/> naming its
    /// line number.
    /// </summary>
    public static IReadOnlyList<LoggedStep> Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var steps = new List<LoggedStep>();
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                steps.Add(ParseLine(line));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new FormatException($"step log line {lineNo}: {e.Message.ReplaceLineEndings(" ")}", e);
            }
        }

        return steps;
    }

    /// <summary>Reads the step log file at <paramref name="path"/> (see <see cref="Read(TextReader)"/>).</summary>
    public static IReadOnlyList<LoggedStep> Read(string path)
    {
        using var reader = File.OpenText(path);
        return Read(reader);
    }

    private static LoggedStep ParseLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var work = new List<WorkShape>();
        foreach (var item in root.GetProperty("work").EnumerateArray())
        {
            if (item.GetArrayLength() != 4)
            {
                throw new FormatException("each work item must be [tokens, context_before, is_decode, produces_token]");
            }

            var tokens = item[0].GetInt32();
            var context = item[1].GetInt32();
            if (tokens <= 0 || context < 0)
            {
                throw new FormatException($"work item [{tokens}, {context}, ...] needs tokens > 0 and context >= 0");
            }

            work.Add(new WorkShape(tokens, context, item[2].GetInt32() != 0, item[3].GetInt32() != 0));
        }

        var ms = root.GetProperty("ms").GetDouble();
        if (!double.IsFinite(ms) || ms < 0)
        {
            throw new FormatException($"ms must be a finite non-negative number, got {ms}");
        }

        return new LoggedStep(root.GetProperty("at_s").GetDouble(), ms / 1000, work, root.GetProperty("swap_blocks").GetInt32());
    }
}

/// <summary>
/// An executor that runs steps on an inner executor and appends each step that ran a forward pass to a
/// <see cref="StepLog"/>. Driven by the one engine loop, like any executor; dispose it to flush the log.
/// </summary>
public sealed class StepLogExecutor : IExecutor, IDisposable
{
    private readonly IExecutor _inner;
    private readonly IClock _clock;
    private readonly TextWriter _log;

    /// <summary>Wraps <paramref name="inner"/>; lines go to <paramref name="log"/>, which this executor owns.</summary>
    public StepLogExecutor(IExecutor inner, IClock clock, TextWriter log)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _log = log ?? throw new ArgumentNullException(nameof(log));
    }

    /// <summary>Steps written so far.</summary>
    public long StepsLogged { get; private set; }

    /// <inheritdoc />
    public StepResult Execute(StepBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var at = _clock.NowS;
        var result = _inner.Execute(batch);
        if (batch.Entries.Count > 0)
        {
            _log.WriteLine(StepLog.Format(at, result.DurationS, batch.Entries, batch.SwapOutBlocks + batch.SwapInBlocks));
            StepsLogged++;
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _log.Dispose();
}
