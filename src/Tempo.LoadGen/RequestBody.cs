using System.Buffers;
using System.Globalization;
using System.Text.Json;

using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>The OpenAI request body (plus the Tempo and vLLM extensions) for one replayed call.</summary>
internal static class RequestBody
{
    /// <summary>The request path under the server root.</summary>
    public static string PathOf(ApiEndpoint endpoint) => endpoint == ApiEndpoint.Chat ? "v1/chat/completions" : "v1/completions";

    /// <summary>
    /// UTF-8 JSON for <paramref name="spec"/>. <paramref name="jobTag"/> makes job ids unique per run. With
    /// <paramref name="promptIds"/> the completions prompt is an array of exactly <see cref="RequestSpec.PromptTokens"/>
    /// token ids (<see cref="PromptTokenIds"/>) instead of text; chat messages have no such form.
    /// </summary>
    public static byte[] Build(RequestSpec spec, ApiEndpoint endpoint, string model, bool sendSlo, string jobTag, bool promptIds = false)
    {
        if (promptIds && endpoint == ApiEndpoint.Chat)
        {
            throw new ArgumentException("prompt token ids need the completions endpoint; chat messages are text.", nameof(promptIds));
        }

        var buffer = new ArrayBufferWriter<byte>(256 + (spec.PromptTokens * 8));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            if (endpoint == ApiEndpoint.Chat)
            {
                json.WriteStartArray("messages");
                json.WriteStartObject();
                json.WriteString("role", "user");
                json.WriteString("content", SyntheticPrompt.For(spec));
                json.WriteEndObject();
                json.WriteEndArray();
            }
            else if (promptIds)
            {
                json.WriteStartArray("prompt");
                foreach (var id in PromptTokenIds.For(spec))
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteString("prompt", SyntheticPrompt.For(spec));
            }

            // max_tokens + ignore_eos reproduce the trace's output length on servers that honour ignore_eos (vLLM,
            // SGLang, ours); others stop at their end-of-sequence token and the record shows the shorter output.
            json.WriteNumber("max_tokens", spec.OutputTokens);
            json.WriteBoolean("ignore_eos", true);
            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
            WriteSampling(json, spec.Sampling);
            json.WriteNumber("priority", spec.Priority);
            if (sendSlo)
            {
                WriteSlo(json, spec, jobTag);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The llm-d SLO headers for a latency call, or nothing.</summary>
    public static IEnumerable<KeyValuePair<string, string>> SloHeaders(RequestSpec spec)
    {
        if (spec.Class != RequestClass.Latency)
        {
            yield break;
        }

        yield return new("x-llm-d-slo-ttft-ms", Ms(spec.Slo.TtftS).ToString(CultureInfo.InvariantCulture));
        yield return new("x-llm-d-slo-tpot-ms", Ms(spec.Slo.TbtS).ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteSampling(Utf8JsonWriter json, SamplingParams s)
    {
        json.WriteNumber("temperature", s.Temperature);
        if (s.TopP < 1)
        {
            json.WriteNumber("top_p", s.TopP);
        }

        if (s.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        if (s.Stop is { Count: > 0 } stop)
        {
            json.WriteStartArray("stop");
            foreach (var x in stop)
            {
                json.WriteStringValue(x);
            }

            json.WriteEndArray();
        }
    }

    private static void WriteSlo(Utf8JsonWriter json, RequestSpec spec, string jobTag)
    {
        json.WriteStartObject("slo");
        switch (spec.Class)
        {
            case RequestClass.Latency:
                json.WriteString("class", "latency");
                json.WriteNumber("ttft_ms", Ms(spec.Slo.TtftS));
                json.WriteNumber("tbt_ms", Ms(spec.Slo.TbtS));
                break;
            case RequestClass.Throughput:
                json.WriteString("class", "throughput");
                json.WriteNumber("deadline_ms", Ms(spec.Slo.DeadlineS));
                break;
            default:
                json.WriteString("class", "collective");
                json.WriteNumber("deadline_ms", Ms(spec.Slo.DeadlineS));
                json.WriteString("job_id", JobId(jobTag, spec.JobId ?? spec.Id));
                json.WriteNumber("stage", spec.Stage);
                // The simulator gives a scheduler the job's stage count; without it a server assumes each call is the
                // last stage so far and reserves nothing for the stages still to come.
                json.WriteNumber("stage_count", spec.StageCount);
                if (spec.App is { } app)
                {
                    json.WriteString("app", app);
                }

                break;
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// Job ids restart at 0 in every workload, so repeated runs against one server would merge unrelated jobs in its
    /// job tracking; a per-run tag keeps them apart.
    /// </summary>
    public static string JobId(string jobTag, long jobId) => string.Create(CultureInfo.InvariantCulture, $"{jobTag}-j{jobId}");

    // Whole milliseconds read best in logs and every server parses integers; sub-millisecond SLOs are not a thing.
    private static long Ms(double seconds) => (long)Math.Round(seconds * 1000);
}
