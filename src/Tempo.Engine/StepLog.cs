using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Tempo.Engine;

/// <summary>One executed step as written to a step log: when it ran, how long it took and what it processed.</summary>
/// <param name="AtS">Clock time when the step started, seconds.</param>
/// <param name="DurationS">Measured (or modelled) duration, seconds.</param>
/// <param name="Work">The forward pass's sequences.</param>
/// <param name="SwapBlocks">KV blocks moved before the pass (out plus in).</param>
/// <param name="PlanS">Clock time when the engine began planning the step; null in logs written before it was recorded.</param>
/// <param name="RequestIds">The request of each work item, in order; null in logs written before ids were recorded.</param>
/// <param name="EndS">Clock time the step's tokens were stamped with; null in logs written before it was recorded.</param>
public sealed record LoggedStep(double AtS, double DurationS, IReadOnlyList<WorkShape> Work, int SwapBlocks, double? PlanS = null, IReadOnlyList<long>? RequestIds = null, double? EndS = null);

/// <summary>
/// A JSON-lines log of executed steps, one object per line:
/// <c>{"plan_s":12.49,"at_s":12.5,"ms":31.2,"end_s":12.5313,"swap_blocks":0,"work":[[tokens,context_before,is_decode,produces_token,request_id],...]}</c>
/// (the two flags as 0/1). It lets a real engine's steps be priced again by a cost model afterwards, which is how
/// the simulator's per-step error is measured (<c>tempo fidelity</c>). A server also writes the arrivals and ends
/// between the steps into the same file (<see cref="StepTrace"/>), so the run can be replayed decision by decision;
/// <see cref="Read(TextReader)"/> skips those lines and the steps that ran no forward pass.
/// </summary>
public static class StepLog
{
    /// <summary>Formats one step as a log line (no newline).</summary>
    public static string Format(double planS, double atS, double durationS, double endS, IReadOnlyList<BatchEntry> entries, int swapBlocks)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var sb = new StringBuilder(80 + (entries.Count * 24));
        sb.Append(CultureInfo.InvariantCulture, $"{{\"plan_s\":{planS:R},\"at_s\":{atS:R},\"ms\":{durationS * 1000:R},\"end_s\":{endS:R},\"swap_blocks\":{swapBlocks},\"work\":[");
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            sb.Append(i == 0 ? "[" : ",[")
                .Append(e.Tokens.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(e.ContextBefore.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(e.IsDecode ? '1' : '0').Append(',')
                .Append(e.ProducesToken ? '1' : '0').Append(',')
                .Append(e.Request.Id.ToString(CultureInfo.InvariantCulture)).Append(']');
        }

        return sb.Append("]}").ToString();
    }

    /// <summary>
    /// Reads the forward-pass steps of a step log. Blank lines, lines of other kinds (arrivals, ends, the header) and
    /// steps that ran nothing are skipped; a malformed line throws <see cref="FormatException"/> naming its line number.
    /// </summary>
    public static IReadOnlyList<LoggedStep> Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var steps = new List<LoggedStep>();
        foreach (var (root, lineNo) in Lines(reader))
        {
            try
            {
                if (root.TryGetProperty("work", out _) && ParseStep(root) is { Work.Count: > 0 } step)
                {
                    steps.Add(step);
                }
            }
            catch (Exception e) when (IsFieldError(e))
            {
                throw LineError(lineNo, e);
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

    /// <summary>
    /// The parsed lines of a log with their line numbers, skipping blank ones; each root is valid until the next line
    /// is read. A line that is not a JSON object throws <see cref="FormatException"/> naming it.
    /// </summary>
    internal static IEnumerable<(JsonElement Root, int LineNo)> Lines(TextReader reader)
    {
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw LineError(lineNo, e);
            }

            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new FormatException($"step log line {lineNo}: expected a JSON object");
                }

                (JsonElement, int) item = (doc.RootElement, lineNo);
                yield return item;
            }
        }
    }

    /// <summary>Wraps a problem with one line as a <see cref="FormatException"/> naming it.</summary>
    internal static FormatException LineError(int lineNo, Exception e) =>
        new($"step log line {lineNo}: {e.Message.ReplaceLineEndings(" ")}", e);

    /// <summary>True for the exceptions a malformed field raises while a line is read.</summary>
    internal static bool IsFieldError(Exception e) =>
        e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException;

    /// <summary>Reads a step line (one with a <c>work</c> field).</summary>
    internal static LoggedStep ParseStep(JsonElement root)
    {
        var work = new List<WorkShape>();
        List<long>? ids = null;
        foreach (var item in root.GetProperty("work").EnumerateArray())
        {
            var length = item.GetArrayLength();
            if (length is not (4 or 5))
            {
                throw new FormatException("each work item must be [tokens, context_before, is_decode, produces_token] or that with the request id");
            }

            if (length == 5)
            {
                (ids ??= []).Add(item[4].GetInt64());
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

        if (ids is not null && ids.Count != work.Count)
        {
            throw new FormatException("either every work item carries its request id or none does");
        }

        double? planS = root.TryGetProperty("plan_s", out var plan) ? plan.GetDouble() : null;
        double? endS = root.TryGetProperty("end_s", out var end) ? end.GetDouble() : null;
        return new LoggedStep(root.GetProperty("at_s").GetDouble(), ms / 1000, work, root.GetProperty("swap_blocks").GetInt32(), planS, ids, endS);
    }
}

/// <summary>
/// An executor that runs steps on an inner executor and appends each step to a <see cref="StepLog"/>. Attached to
/// its engine (<see cref="Attach"/>), it also writes the arrivals and ends between the steps, which makes the log a
/// <see cref="StepTrace"/>. Driven by the one engine loop, like any executor; dispose it to flush the log.
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

    /// <summary>Forward-pass steps written so far.</summary>
    public long StepsLogged { get; private set; }

    /// <summary>
    /// Writes the trace header (the engine's limits and policy) and, from now on, every request the engine accepts
    /// and every request that ends, in the order they happen between the steps.
    /// </summary>
    public void Attach(EngineCore engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _log.WriteLine(StepTrace.FormatHeader(engine.Config, engine.PolicyName));
        engine.RequestSubmitted += r => _log.WriteLine(StepTrace.FormatArrival(_clock.NowS, r.ArrivalS, r.Spec));
        engine.RequestEnded += (r, record) => _log.WriteLine(StepTrace.FormatEnd(record.FinishS, r.Id, record.Reason));
    }

    /// <inheritdoc />
    public StepResult Execute(StepBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var at = _clock.NowS;
        var result = _inner.Execute(batch);

        // The tokens are stamped with the time read here, not when the engine gets to them, so the log holds the
        // exact times a replay must stamp.
        var end = result.EndS ?? _clock.NowS;

        // Steps that ran nothing are logged too: a replay must know when the engine planned and ran nothing.
        _log.WriteLine(StepLog.Format(batch.PlannedAtS, at, result.DurationS, end, batch.Entries, batch.SwapOutBlocks + batch.SwapInBlocks));
        if (batch.Entries.Count > 0)
        {
            StepsLogged++;
        }

        return result with { EndS = end };
    }

    /// <inheritdoc />
    public void Dispose() => _log.Dispose();
}
