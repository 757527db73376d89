using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using Tempo.Core;

namespace Tempo.Engine;

/// <summary>Something a step trace recorded, in the order the engine saw it.</summary>
public abstract record TraceEvent;

/// <summary>A request the engine accepted.</summary>
/// <param name="SubmitS">Engine clock when it was submitted.</param>
/// <param name="ArrivalS">The arrival its latency counts from (no later than <paramref name="SubmitS"/>).</param>
/// <param name="Spec">The request as the engine saw it.</param>
public sealed record TraceArrival(double SubmitS, double ArrivalS, RequestSpec Spec) : TraceEvent;

/// <summary>A request that ended.</summary>
/// <param name="AtS">Engine clock when it ended.</param>
/// <param name="Id">Its id.</param>
/// <param name="Reason">Why it ended.</param>
public sealed record TraceEnd(double AtS, long Id, FinishReason Reason) : TraceEvent;

/// <summary>A step the engine planned and ran (its work may be empty).</summary>
/// <param name="Step">The step.</param>
public sealed record TraceStep(LoggedStep Step) : TraceEvent;

/// <summary>
/// A step log with everything needed to replay the run decision by decision: a header line with the engine's limits
/// and policy (<c>{"trace":1,"policy":"tempo","engine":{...}}</c>), then arrivals
/// (<c>{"submit_s":…,"arrival_s":…,"request":{workload line}}</c>), steps (<see cref="StepLog"/>, with request ids)
/// and ends (<c>{"end_s":…,"id":…,"reason":"stop"}</c>) in the order they happened. Written by
/// <see cref="StepLogExecutor.Attach"/>; read by <see cref="Read(TextReader)"/>.
/// </summary>
/// <param name="Engine">The engine's limits.</param>
/// <param name="Policy">The policy that decided.</param>
/// <param name="Events">Arrivals, steps and ends in order.</param>
public sealed record StepTrace(EngineConfig Engine, string Policy, IReadOnlyList<TraceEvent> Events)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The header line.</summary>
    public static string FormatHeader(EngineConfig engine, string policy)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Json(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("trace", 1);
            json.WriteString("policy", policy);
            json.WriteStartObject("engine");
            json.WriteNumber("max_batch", engine.MaxBatch);
            json.WriteNumber("token_budget", engine.TokenBudget);
            json.WriteNumber("block_size", engine.BlockSize);
            json.WriteNumber("gpu_blocks", engine.GpuBlocks);
            json.WriteNumber("cpu_blocks", engine.CpuBlocks);
            json.WriteNumber("watermark_fraction", engine.WatermarkFraction);
            json.WriteNumber("max_model_len", engine.MaxModelLen);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>An arrival line.</summary>
    public static string FormatArrival(double submitS, double arrivalS, RequestSpec spec) => Json(json =>
    {
        json.WriteStartObject();
        json.WriteNumber("submit_s", submitS);
        json.WriteNumber("arrival_s", arrivalS);
        json.WritePropertyName("request");
        RequestSpecJson.Write(json, spec);
        json.WriteEndObject();
    });

    /// <summary>An end line.</summary>
    public static string FormatEnd(double atS, long id, FinishReason reason) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"end_s\":{atS:R},\"id\":{id},\"reason\":\"{reason.ToString().ToLowerInvariant()}\"}}");

    /// <summary>
    /// The engine limits in the header of the log at <paramref name="path"/>, or null when the log has no trace header
    /// (a step log written before traces existed).
    /// </summary>
    public static EngineConfig? EngineOf(string path)
    {
        using var reader = File.OpenText(path);
        foreach (var (root, lineNo) in StepLog.Lines(reader))
        {
            try
            {
                return root.TryGetProperty("trace", out _) ? ParseHeader(root).Engine : null;
            }
            catch (Exception e) when (StepLog.IsFieldError(e))
            {
                throw StepLog.LineError(lineNo, e);
            }
        }

        return null;
    }

    /// <summary>Reads the trace file at <paramref name="path"/> (see <see cref="Read(TextReader)"/>).</summary>
    public static StepTrace Read(string path)
    {
        using var reader = File.OpenText(path);
        return Read(reader);
    }

    /// <summary>
    /// Reads a trace. The header must come first; a log without one (written by a server before traces existed, or
    /// not attached to its engine) cannot be replayed. A malformed line throws <see cref="FormatException"/> naming it.
    /// </summary>
    public static StepTrace Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        EngineConfig? engine = null;
        string? policy = null;
        var events = new List<TraceEvent>();
        foreach (var (root, lineNo) in StepLog.Lines(reader))
        {
            try
            {
                if (engine is null)
                {
                    if (!root.TryGetProperty("trace", out _))
                    {
                        throw new FormatException("a trace starts with its header {\"trace\":1,...}; this looks like a step log written without one (tempo serve --step-log writes it)");
                    }

                    (engine, policy) = ParseHeader(root);
                }
                else if (root.TryGetProperty("work", out _))
                {
                    var step = StepLog.ParseStep(root);
                    if (step.PlanS is null || (step.Work.Count > 0 && step.RequestIds is null))
                    {
                        throw new FormatException("a traced step needs plan_s and a request id on every work item");
                    }

                    events.Add(new TraceStep(step));
                }
                else if (root.TryGetProperty("request", out var request))
                {
                    events.Add(new TraceArrival(root.GetProperty("submit_s").GetDouble(), root.GetProperty("arrival_s").GetDouble(), RequestSpecJson.Read(request)));
                }
                else if (root.TryGetProperty("end_s", out var end))
                {
                    var reason = root.GetProperty("reason").GetString();
                    if (!Enum.TryParse<FinishReason>(reason, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                    {
                        throw new FormatException($"unknown finish reason '{reason}'");
                    }

                    events.Add(new TraceEnd(end.GetDouble(), root.GetProperty("id").GetInt64(), parsed));
                }
                else
                {
                    throw new FormatException("not a step, arrival or end line");
                }
            }
            catch (Exception e) when (StepLog.IsFieldError(e))
            {
                throw StepLog.LineError(lineNo, e);
            }
        }

        return engine is null ? throw new FormatException("the trace is empty") : new StepTrace(engine, policy!, events);
    }

    private static (EngineConfig Engine, string Policy) ParseHeader(JsonElement root)
    {
        var version = root.GetProperty("trace").GetInt32();
        if (version != 1)
        {
            throw new FormatException($"trace version {version} is not supported (this build reads version 1)");
        }

        var e = root.GetProperty("engine");
        var engine = new EngineConfig
        {
            MaxBatch = e.GetProperty("max_batch").GetInt32(),
            TokenBudget = e.GetProperty("token_budget").GetInt32(),
            BlockSize = e.GetProperty("block_size").GetInt32(),
            GpuBlocks = e.GetProperty("gpu_blocks").GetInt32(),
            CpuBlocks = e.GetProperty("cpu_blocks").GetInt32(),
            WatermarkFraction = e.GetProperty("watermark_fraction").GetDouble(),
            MaxModelLen = e.GetProperty("max_model_len").GetInt32(),
        };
        engine.Validate();
        return (engine, root.GetProperty("policy").GetString() ?? throw new FormatException("policy must be a string"));
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
