using System.Globalization;
using System.Text.Json;

using Microsoft.AspNetCore.Http;

using Tempo.Core;

namespace Tempo.Gateway;

/// <summary>
/// What the gateway reads of an OpenAI request body to queue and route it: the SLO (body <c>slo</c>, then llm-d's
/// headers, then the defaults), <c>max_tokens</c>, <c>stream</c>, and a prompt-size estimate. The body itself is
/// forwarded unchanged; anything the gateway cannot read is left for the replica to judge, so a bad request gets the
/// replica's own 400.
/// </summary>
internal static class RequestShape
{
    // One token per four characters of text: the estimate the load generator's prompts are built around.
    private const int CharsPerToken = 4;

    /// <summary>The routing view of one request, or null when the body is not a JSON object (the replica answers).</summary>
    public static (RequestSpec Spec, string? JobKey, bool Stream)? Read(ReadOnlySpan<byte> body, IHeaderDictionary headers, long id, double nowS, Slo defaults, RequestClass defaultClass, JobClock jobs)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return Shape(root, headers, id, nowS, defaults, defaultClass, jobs);
        }
    }

    private static (RequestSpec Spec, string? JobKey, bool Stream)? Shape(JsonElement root, IHeaderDictionary headers, long id, double nowS, Slo defaults, RequestClass defaultClass, JobClock jobs)
    {
        try
        {
            return Build(root, headers, id, nowS, defaults, defaultClass, jobs);
        }
        catch (InvalidOperationException)
        {
            // Text the JSON reader cannot decode (a lone surrogate escape): the replica refuses it with its own 400.
            return null;
        }
    }

    private static (RequestSpec Spec, string? JobKey, bool Stream) Build(JsonElement root, IHeaderDictionary headers, long id, double nowS, Slo defaults, RequestClass defaultClass, JobClock jobs)
    {
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens") ?? 256;
        var prompt = PromptTokens(root);
        var cls = defaultClass;
        double ttft = defaults.TtftS, tbt = defaults.TbtS, deadline = defaults.DeadlineS;
        string? job = null;
        int stage = 0, stageCount = 1;
        if (Header(headers, "x-llm-d-slo-ttft-ms") is { } h1)
        {
            ttft = h1 / 1000;
        }

        if (Header(headers, "x-llm-d-slo-tpot-ms") is { } h2)
        {
            tbt = h2 / 1000;
        }

        if (root.TryGetProperty("slo", out var slo) && slo.ValueKind == JsonValueKind.Object)
        {
            if (slo.TryGetProperty("class", out var c) && c.ValueKind == JsonValueKind.String)
            {
                cls = c.GetString() switch
                {
                    "throughput" => RequestClass.Throughput,
                    "collective" => RequestClass.Collective,
                    _ => RequestClass.Latency,
                };
            }

            ttft = (Number(slo, "ttft_ms") ?? (ttft * 1000)) / 1000;
            tbt = (Number(slo, "tbt_ms") ?? (tbt * 1000)) / 1000;
            deadline = (Number(slo, "deadline_ms") ?? (deadline * 1000)) / 1000;
            job = slo.TryGetProperty("job_id", out var j) && j.ValueKind == JsonValueKind.String ? j.GetString() : null;
            stage = Int(slo, "stage") ?? 0;
            stageCount = Int(slo, "stage_count") ?? Math.Max(1, stage + 1);
        }

        var valid = ttft > 0 && tbt > 0 && deadline > 0 && double.IsFinite(ttft + tbt + deadline);
        if (!valid || (cls == RequestClass.Collective && job is null))
        {
            // The replica will refuse this SLO; route it as a default request so it gets that answer quickly.
            (cls, ttft, tbt, deadline, job) = (defaultClass, defaults.TtftS, defaults.TbtS, defaults.DeadlineS, null);
        }

        var spec = new RequestSpec
        {
            Id = id,
            ArrivalS = cls == RequestClass.Collective ? jobs.ArrivalOf(job!, nowS) : nowS,
            Class = cls,
            Slo = new Slo(ttft, tbt, deadline),
            PromptTokens = Math.Max(1, prompt),
            OutputTokens = Math.Max(1, maxTokens),
            JobId = cls == RequestClass.Collective ? jobs.IdOf(job!) : null,
            Stage = cls == RequestClass.Collective ? Math.Clamp(stage, 0, Math.Max(0, stageCount - 1)) : 0,
            StageCount = cls == RequestClass.Collective ? Math.Clamp(stageCount, 1, RequestSpec.MaxStageCount) : 1,
        };
        return (spec, job, stream);
    }

    private static int PromptTokens(JsonElement root)
    {
        if (root.TryGetProperty("prompt", out var p))
        {
            return p.ValueKind switch
            {
                JsonValueKind.String => (p.GetString()!.Length + CharsPerToken - 1) / CharsPerToken,
                JsonValueKind.Array => p.GetArrayLength() > 0 && p[0].ValueKind == JsonValueKind.Number ? p.GetArrayLength() : 1,
                _ => 1,
            };
        }

        var chars = 0;
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in messages.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.Object && m.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                {
                    chars += content.GetString()!.Length;
                }
            }
        }

        return (chars + CharsPerToken - 1) / CharsPerToken;
    }

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) ? d : null;

    private static double? Header(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var v) && double.TryParse(v.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : null;
}

/// <summary>
/// Numbers the collective jobs the gateway sees and remembers when each was first seen (its calls' deadlines count
/// from there), forgetting the oldest beyond a bound.
/// </summary>
internal sealed class JobClock(int capacity = 10_000)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Id, double ArrivalS)> _jobs = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private long _next = 1;

    public double ArrivalOf(string job, double nowS) => Get(job, nowS).ArrivalS;

    public long IdOf(string job) => Get(job, 0).Id;

    private (long Id, double ArrivalS) Get(string job, double nowS)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job, out var entry))
            {
                entry = (_next++, nowS);
                _jobs[job] = entry;
                _order.Enqueue(job);
                if (_order.Count > capacity)
                {
                    _jobs.Remove(_order.Dequeue());
                }
            }

            return entry;
        }
    }
}
