using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>
/// Tempo's own workload file: JSON Lines, one request (one LLM call) per line, documented in docs/WORKLOADS.md.
/// <code>
/// {"id":1,"arrival_s":0.5,"class":"latency","prompt_tokens":120,"output_tokens":300,"slo":{"ttft_s":1,"tbt_s":0.1,"deadline_s":10},"client_id":0,"priority":0,"job_id":null,"stage":0,"stage_count":1,"app":null,"prompt":"optional text"}
/// </code>
/// Required: <c>arrival_s</c>, <c>class</c>, <c>prompt_tokens</c>, <c>output_tokens</c>; collective calls also
/// <c>job_id</c>. Unknown fields are ignored so files can carry extra annotations.
/// </summary>
public static class WorkloadJsonl
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads a workload file; see <see cref="Read(TextReader, string, WorkloadOptions?)"/>.</summary>
    public static Workload Read(string path, WorkloadOptions? options = null)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Read(reader, Path.GetFileName(path), options);
    }

    /// <summary>
    /// Parses a workload. Malformed input throws <see cref="FormatException"/> "<c>source line N: problem</c>"; a
    /// structurally invalid workload (duplicate ids, stage gaps) throws <see cref="ArgumentException"/> from
    /// <see cref="Workload.Validate"/>. With <paramref name="options"/>: a missing <c>slo</c> (or bound) defaults to
    /// its unscaled <see cref="WorkloadOptions.SloBase"/>; <see cref="WorkloadOptions.Requests"/> keeps the first N
    /// top-level arrivals (a job counts once); <see cref="WorkloadOptions.Rate"/> rescales arrival gaps, keeping the
    /// first arrival, so the mean top-level rate equals it; <see cref="WorkloadOptions.LengthScale"/> and
    /// <see cref="WorkloadOptions.SloScale"/> multiply every line's token counts and SLO times (defaults included).
    /// Class ratio, seed and arrival process do not apply.
    /// </summary>
    public static Workload Read(TextReader reader, string sourceName, WorkloadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options?.Validate();
        var defaultSlo = options?.SloBase ?? new WorkloadOptions().SloBase;
        var specs = new List<RequestSpec>();
        var jobNames = new Dictionary<string, long>(StringComparer.Ordinal);
        var inferStageCount = new HashSet<long>();
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }

            try
            {
                specs.Add(ParseLine(trimmed, specs.Count, defaultSlo, jobNames, inferStageCount));
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                throw new FormatException($"{sourceName} line {lineNo}: {FirstLine(e.Message)}", e);
            }
        }

        // Calls that did not say how many stages their job has get the job's highest stage + 1.
        if (inferStageCount.Count > 0)
        {
            var stages = specs.Where(s => s.JobId is { } j && inferStageCount.Contains(j)).GroupBy(s => s.JobId!.Value).ToDictionary(g => g.Key, g => g.Max(s => s.Stage) + 1);
            for (var i = 0; i < specs.Count; i++)
            {
                if (specs[i].JobId is { } j && stages.TryGetValue(j, out var count) && specs[i].StageCount == 0)
                {
                    specs[i] = specs[i] with { StageCount = count };
                }
            }
        }

        var selected = Scale(SelectAndRescale(specs, options), options);
        var workload = new Workload(Path.GetFileNameWithoutExtension(sourceName), [.. selected.OrderBy(s => s.ArrivalS).ThenBy(s => s.Id)]);
        workload.Validate();
        return workload;
    }

    /// <summary>Writes <paramref name="workload"/> to <paramref name="path"/> (UTF-8, no BOM).</summary>
    public static void Write(Workload workload, string path)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        Write(workload, writer);
    }

    /// <summary>Writes one line per request, in the workload's order; <see cref="Read(TextReader, string, WorkloadOptions?)"/> reads it back unchanged.</summary>
    public static void Write(Workload workload, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(writer);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var r in workload.Requests)
        {
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer, WriterOptions))
            {
                RequestSpecJson.Write(json, r);
            }

            writer.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }

    private static RequestSpec ParseLine(string line, int index, Slo defaultSlo, Dictionary<string, long> jobNames, HashSet<long> inferStageCount)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"expected a JSON object, got {root.ValueKind.ToString().ToLowerInvariant()}");
        }

        var cls = ParseClass(RequiredString(root, "class"));
        var slo = defaultSlo;
        if (root.TryGetProperty("slo", out var sloElement) && sloElement.ValueKind != JsonValueKind.Null)
        {
            if (sloElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("slo must be an object {\"ttft_s\":…,\"tbt_s\":…,\"deadline_s\":…}");
            }

            slo = new Slo(
                OptionalSeconds(sloElement, "ttft_s") ?? defaultSlo.TtftS,
                OptionalSeconds(sloElement, "tbt_s") ?? defaultSlo.TbtS,
                OptionalSeconds(sloElement, "deadline_s") ?? defaultSlo.DeadlineS);
        }

        long? jobId = null;
        if (root.TryGetProperty("job_id", out var job))
        {
            jobId = job.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number when job.TryGetInt64(out var j) && j >= 0 => j,
                JsonValueKind.String when job.GetString() is { Length: > 0 } name => JobNumber(jobNames, name),
                _ => throw new FormatException($"job_id must be a non-negative integer, a non-empty string or null, got {job.GetRawText()}"),
            };
        }

        if (cls == RequestClass.Collective && jobId is null)
        {
            throw new FormatException("a collective call needs a job_id");
        }

        var stageCount = OptionalInt(root, "stage_count", 1);
        if (stageCount is null && jobId is { } inferred)
        {
            inferStageCount.Add(inferred);
        }

        var stage = OptionalInt(root, "stage", 0) ?? 0;
        if (stageCount is { } sc && stage >= sc)
        {
            throw new FormatException($"stage {stage} is not below stage_count {sc}");
        }

        return new RequestSpec
        {
            Id = root.TryGetProperty("id", out var id) && id.ValueKind != JsonValueKind.Null ? NonNegativeLong(id, "id") : index,
            ArrivalS = RequiredSeconds(root, "arrival_s"),
            Class = cls,
            Slo = slo,
            PromptTokens = RequiredInt(root, "prompt_tokens", 1),
            OutputTokens = RequiredInt(root, "output_tokens", 1),
            ClientId = OptionalInt(root, "client_id", 0) ?? 0,
            Priority = OptionalInt(root, "priority", int.MinValue) ?? 0,
            JobId = jobId,
            Stage = stage,

            // 0 marks "infer from the job" until the whole file is read; non-collective calls default to 1.
            StageCount = stageCount ?? (jobId is null ? 1 : 0),
            App = OptionalString(root, "app"),
            PromptText = OptionalString(root, "prompt"),
        };
    }

    private static RequestClass ParseClass(string name) => name.ToLowerInvariant() switch
    {
        "latency" => RequestClass.Latency,
        "throughput" or "deadline" => RequestClass.Throughput,
        "collective" or "compound" => RequestClass.Collective,
        _ => throw new FormatException($"unknown class '{name}'; expected latency, throughput or collective"),
    };

    private static long JobNumber(Dictionary<string, long> names, string name)
    {
        // Named jobs get numbers above any integer id a file is likely to use, in order of first appearance.
        if (!names.TryGetValue(name, out var number))
        {
            number = (1L << 40) + names.Count;
            names[name] = number;
        }

        return number;
    }

    private static JsonElement Required(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : throw new FormatException($"missing field '{name}'");

    private static string RequiredString(JsonElement root, string name)
    {
        var e = Required(root, name);
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"'{name}' must be a string, got {e.GetRawText()}");
    }

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw new FormatException($"'{name}' must be a string or null, got {e.GetRawText()}");
    }

    private static double RequiredSeconds(JsonElement root, string name) => Seconds(Required(root, name), name);

    private static double? OptionalSeconds(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? Seconds(e, name) : null;

    private static double Seconds(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v) && double.IsFinite(v) && v >= 0
            ? v
            : throw new FormatException($"'{name}' must be a non-negative number of seconds, got {e.GetRawText()}");

    private static int RequiredInt(JsonElement root, string name, int min) => Int(Required(root, name), name, min);

    private static int? OptionalInt(JsonElement root, string name, int min) =>
        root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? Int(e, name, min) : null;

    private static int Int(JsonElement e, string name, int min) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) && v >= min
            ? v
            : throw new FormatException($"'{name}' must be an integer ≥ {min}, got {e.GetRawText()}");

    private static long NonNegativeLong(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) && v >= 0
            ? v
            : throw new FormatException($"'{name}' must be a non-negative integer, got {e.GetRawText()}");

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    private static List<RequestSpec> Scale(List<RequestSpec> specs, WorkloadOptions? options)
    {
        if (options is null || (options.LengthScale == 1.0 && options.SloScale == 1.0))
        {
            return specs;
        }

        // A file has no derived lengths (unlike a generated tree-of-thought job), so every call scales on its own.
        return [.. specs.Select(s => s with
        {
            PromptTokens = options.ScaleTokens(s.PromptTokens),
            OutputTokens = options.ScaleTokens(s.OutputTokens),
            Slo = options.ScaleSlo(s.Slo),
        })];
    }

    private static List<RequestSpec> SelectAndRescale(List<RequestSpec> specs, WorkloadOptions? options)
    {
        if (options is null || specs.Count == 0 || (options.Requests is null && options.Rate is null))
        {
            return specs;
        }

        // Top-level arrivals: a request, or a whole job (all its calls share the job's arrival).
        var arrivals = specs
            .GroupBy(s => s.JobId is { } j ? (IsJob: true, Key: j) : (IsJob: false, Key: s.Id))
            .Select(g => (g.Key, ArrivalS: g.Min(s => s.ArrivalS), FirstId: g.Min(s => s.Id)))
            .OrderBy(a => a.ArrivalS).ThenBy(a => a.FirstId)
            .Take(options.Requests ?? int.MaxValue)
            .ToList();
        var kept = arrivals.Select(a => a.Key).ToHashSet();
        var times = arrivals.Select(a => a.ArrivalS).ToList();
        var factor = ArrivalTimes.RescaleFactor(times, options.Rate);
        var origin = times[0];
        return [.. specs
            .Where(s => kept.Contains(s.JobId is { } j ? (true, j) : (false, s.Id)))
            .Select(s => factor == 1.0 ? s : s with { ArrivalS = origin + ((s.ArrivalS - origin) * factor) })];
    }
}
