using System.Globalization;
using System.Text;
using System.Text.Json;

using Microsoft.AspNetCore.Http;

using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Server;

/// <summary>An OpenAI-style error answer: HTTP status plus the <c>{"error": {...}}</c> body fields.</summary>
internal sealed record ApiError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    public static ApiError Invalid(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);
}

/// <summary>Thrown by admission with the error to answer; never reaches the engine.</summary>
internal sealed class ApiException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}

/// <summary>A request that passed admission: the spec to submit (id and arrival still unset) and how to answer.</summary>
/// <param name="Spec">The engine request, with <c>Id</c> and <c>ArrivalS</c> to be stamped by the host.</param>
/// <param name="JobKey">Client's job id of a collective call, mapped to a numeric job by the host.</param>
/// <param name="Stream">Answer as server-sent events.</param>
/// <param name="IncludeUsage">Send the usage chunk before <c>[DONE]</c>.</param>
internal sealed record Admitted(RequestSpec Spec, string? JobKey, bool Stream, bool IncludeUsage);

/// <summary>
/// Validates and translates a request body into an engine request: model, messages or prompt, token limits
/// against the context and KV capacity, sampling, and the SLO (body <c>slo</c> object, then llm-d's headers,
/// then the server default, field by field). Everything here runs before the engine is touched.
/// </summary>
internal sealed class Admission(ServerOptions options, IServingBackend backend, EngineConfig config, string modelName)
{
    /// <summary>llm-d's per-request TTFT objective header, in milliseconds.</summary>
    public const string TtftHeader = "x-llm-d-slo-ttft-ms";

    /// <summary>llm-d's per-request time-per-output-token objective header, in milliseconds.</summary>
    public const string TpotHeader = "x-llm-d-slo-tpot-ms";

    // A stop string is matched against every generated token's tail; longer than this it is a mistake or an attack.
    private const int MaxStopLength = 1024;

    // Names (application, class) are labels, not text to store.
    private const int MaxNameLength = 256;

    private static readonly string[] Roles = ["system", "user", "assistant", "tool", "developer"];

    public Admitted Chat(ChatCompletionRequest body, IHeaderDictionary headers)
    {
        CheckModel(body.Model);
        if (body.Messages is not { Count: > 0 } messages)
        {
            throw new ApiException(ApiError.Invalid("'messages' must be a non-empty array", "messages"));
        }

        var turns = new List<ChatTurn>(messages.Count);
        long promptBytes = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new ApiException(ApiError.Invalid($"messages[{i}] must be an object", "messages"));
            if (m.Role is null || !Roles.Contains(m.Role))
            {
                throw new ApiException(ApiError.Invalid($"messages[{i}].role must be one of {string.Join(", ", Roles)}", "messages"));
            }

            var content = ContentText(m.Content, i);
            promptBytes += CheckedText(content, "messages");
            CheckPromptBytes(promptBytes, "messages");
            turns.Add(new ChatTurn(m.Role, content));
        }

        var text = backend.ApplyChatTemplate(turns);
        return Build(body, body.MaxCompletionTokens ?? body.MaxTokens, text, backend.Tokenize(text), headers);
    }

    public Admitted Completion(CompletionRequest body, IHeaderDictionary headers)
    {
        CheckModel(body.Model);
        var (text, prompt) = Prompt(body.Prompt);
        return Build(body, body.MaxTokens, text, prompt, headers);
    }

    /// <summary>Refuses text that is not valid Unicode (a lone surrogate); returns its UTF-8 size.</summary>
    internal static int CheckedText(string text, string param)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new ApiException(ApiError.Invalid($"'{param}' contains invalid Unicode (an unpaired surrogate at character {i})", param, "invalid_encoding"));
            }
        }

        return Encoding.UTF8.GetByteCount(text);
    }

    /// <summary>Reads a JSON string; text that cannot be decoded (invalid UTF-8 or escapes) is a 400, not a crash.</summary>
    internal static string JsonText(JsonElement element, string param)
    {
        string text;
        try
        {
            text = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(ApiError.Invalid($"'{param}' is not valid UTF-8 text", param, "invalid_encoding"));
        }

        CheckedText(text, param);
        return text;
    }

    // A prompt longer than this many bytes cannot fit the context under any real tokenizer, so it is refused
    // before the tokenizer spends seconds on it.
    private void CheckPromptBytes(long bytes, string param)
    {
        var context = Math.Min(config.MaxModelLen, backend.ContextSize);
        var limit = (long)context * options.MaxPromptBytesPerContextToken;
        if (bytes > limit)
        {
            throw new ApiException(ApiError.Invalid($"The prompt is {bytes} bytes; this server accepts at most {limit} bytes ({options.MaxPromptBytesPerContextToken} per token of its {context}-token context).", param, "context_length_exceeded"));
        }
    }

    private void CheckModel(string? model)
    {
        if (!string.IsNullOrEmpty(model) && !string.Equals(model, modelName, StringComparison.Ordinal))
        {
            CheckedText(model, "model");
            if (model.Length > MaxNameLength)
            {
                throw new ApiException(ApiError.Invalid($"The model does not exist; this server serves '{modelName}'.", "model", "model_not_found"));
            }

            throw new ApiException(ApiError.Invalid($"The model '{model}' does not exist; this server serves '{modelName}'.", "model", "model_not_found"));
        }
    }

    private static string ContentText(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return JsonText(content, "messages");
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return "";
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                    {
                        throw new ApiException(ApiError.Invalid($"messages[{index}].content: only text parts {{\"type\":\"text\",\"text\":...}} are supported", "messages"));
                    }

                    text.Append(JsonText(t, "messages"));
                }

                return text.ToString();
            default:
                throw new ApiException(ApiError.Invalid($"messages[{index}].content must be a string or an array of text parts", "messages"));
        }
    }

    private (string? Text, TokenizedPrompt Prompt) Prompt(JsonElement prompt)
    {
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return TextPrompt(JsonText(prompt, "prompt"));
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return TextPrompt(JsonText(prompt[0], "prompt"));
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                var context = Math.Min(config.MaxModelLen, backend.ContextSize);
                if (prompt.GetArrayLength() >= context)
                {
                    throw new ApiException(ApiError.Invalid($"This model's maximum context length is {context} tokens; the prompt has {prompt.GetArrayLength()} tokens, leaving no room for output.", "prompt", "context_length_exceeded"));
                }

                var ids = new List<int>(prompt.GetArrayLength());
                foreach (var e in prompt.EnumerateArray())
                {
                    if (!e.TryGetInt32(out var id) || id < 0 || id >= (backend.VocabularySize ?? int.MaxValue))
                    {
                        throw new ApiException(ApiError.Invalid($"'prompt' token ids must be integers in [0, {backend.VocabularySize?.ToString(CultureInfo.InvariantCulture) ?? "2^31"})", "prompt"));
                    }

                    ids.Add(id);
                }

                return (null, new TokenizedPrompt(ids.Count, ids));
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw new ApiException(ApiError.Invalid("'prompt' is required", "prompt"));
            default:
                throw new ApiException(ApiError.Invalid("'prompt' must be a string, a one-element array of strings or an array of token ids (batched prompts are not supported)", "prompt"));
        }
    }

    private (string? Text, TokenizedPrompt Prompt) TextPrompt(string text)
    {
        CheckPromptBytes(Encoding.UTF8.GetByteCount(text), "prompt");
        return (text, backend.Tokenize(text));
    }

    private Admitted Build(GenerationRequest body, int? maxTokens, string? text, TokenizedPrompt prompt, IHeaderDictionary headers)
    {
        if (body.N is { } n && n != 1)
        {
            throw new ApiException(ApiError.Invalid($"only n=1 is supported, got {n}", "n"));
        }

        if (prompt.Count <= 0)
        {
            throw new ApiException(ApiError.Invalid("the prompt is empty", "prompt"));
        }

        var context = Math.Min(config.MaxModelLen, backend.ContextSize);
        if (prompt.Count >= context)
        {
            throw new ApiException(ApiError.Invalid($"This model's maximum context length is {context} tokens; the prompt has {prompt.Count} tokens, leaving no room for output.", "messages", "context_length_exceeded"));
        }

        if (maxTokens is { } requested)
        {
            if (requested <= 0)
            {
                throw new ApiException(ApiError.Invalid($"max_tokens must be at least 1, got {requested}", "max_tokens"));
            }

            if ((long)prompt.Count + requested > context)
            {
                throw new ApiException(ApiError.Invalid($"This model's maximum context length is {context} tokens; you requested {prompt.Count + (long)requested} tokens ({prompt.Count} in the prompt, {requested} for the output).", "max_tokens", "context_length_exceeded"));
            }
        }

        var output = maxTokens ?? Math.Min(options.DefaultMaxTokens, context - prompt.Count);
        var blocks = (prompt.Count + output + config.BlockSize - 1) / config.BlockSize;
        if (blocks > config.GpuBlocks - config.WatermarkBlocks)
        {
            throw new ApiException(ApiError.Invalid($"prompt plus output ({prompt.Count + output} tokens) can never fit the KV cache", "max_tokens", "context_length_exceeded"));
        }

        var (cls, slo, jobKey, stage, stageCount, app) = ParseSlo(body.Slo, headers);
        var spec = new RequestSpec
        {
            Id = 0,
            ArrivalS = 0,
            Class = cls,
            Slo = slo,
            PromptTokens = prompt.Count,
            OutputTokens = output,
            Priority = body.Priority ?? 0,
            Stage = stage,
            StageCount = stageCount,
            App = app,
            PromptText = text,
            PromptTokenIds = prompt.Ids,
            Sampling = Sampling(body),
        };
        return new Admitted(spec, jobKey, body.Stream == true, body.Stream == true && body.StreamOptions?.IncludeUsage == true);
    }

    private static SamplingParams Sampling(GenerationRequest body)
    {
        var temperature = body.Temperature ?? 1.0;
        if (!double.IsFinite(temperature) || temperature is < 0 or > 2)
        {
            throw new ApiException(ApiError.Invalid($"temperature must be in [0, 2], got {temperature.ToString(CultureInfo.InvariantCulture)}", "temperature"));
        }

        var topP = body.TopP ?? 1.0;
        if (!double.IsFinite(topP) || topP is <= 0 or > 1)
        {
            throw new ApiException(ApiError.Invalid($"top_p must be in (0, 1], got {topP.ToString(CultureInfo.InvariantCulture)}", "top_p"));
        }

        return new SamplingParams(temperature, topP, body.Seed, StopStrings(body.Stop), body.IgnoreEos == true);
    }

    private static List<string>? StopStrings(JsonElement stop)
    {
        switch (stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String when JsonText(stop, "stop") is { Length: > 0 and <= MaxStopLength } s:
                return [s];
            case JsonValueKind.Array when stop.GetArrayLength() <= 16 && stop.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && JsonText(e, "stop").Length is > 0 and <= MaxStopLength):
                return [.. stop.EnumerateArray().Select(e => e.GetString()!)];
            default:
                throw new ApiException(ApiError.Invalid($"'stop' must be a non-empty string or an array of up to 16 non-empty strings, each at most {MaxStopLength} characters", "stop"));
        }
    }

    private (RequestClass Class, Slo Slo, string? JobKey, int Stage, int StageCount, string? App) ParseSlo(SloIn? body, IHeaderDictionary headers)
    {
        var headerTtft = HeaderMs(headers, TtftHeader);
        var headerTpot = HeaderMs(headers, TpotHeader);
        var ttft = Ms(body?.TtftMs, "slo.ttft_ms") ?? headerTtft;
        var tbt = Ms(body?.TbtMs, "slo.tbt_ms") ?? headerTpot;
        var deadline = Ms(body?.DeadlineMs, "slo.deadline_ms");
        var jobKey = JobKey(body?.JobId ?? default);

        RequestClass cls;
        if (body?.Class is { } name)
        {
            CheckedText(name, "slo");
            if (name.Length > MaxNameLength)
            {
                throw new ApiException(ApiError.Invalid("slo.class must be latency, throughput or collective", "slo"));
            }

            cls = name.Trim().ToLowerInvariant() switch
            {
                "latency" => RequestClass.Latency,
                "throughput" or "deadline" => RequestClass.Throughput,
                "collective" or "compound" => RequestClass.Collective,
                _ => throw new ApiException(ApiError.Invalid($"slo.class must be latency, throughput or collective, got '{name}'", "slo")),
            };
        }
        else
        {
            // No class named: infer it from what was given, most specific first.
            cls = jobKey is not null ? RequestClass.Collective
                : ttft is not null || tbt is not null ? RequestClass.Latency
                : deadline is not null ? RequestClass.Throughput
                : options.DefaultClass;
        }

        if (cls == RequestClass.Collective && jobKey is null)
        {
            throw new ApiException(ApiError.Invalid("a collective request needs slo.job_id", "slo"));
        }

        var stage = body?.Stage ?? 0;
        if (stage < 0)
        {
            throw new ApiException(ApiError.Invalid($"slo.stage must be non-negative, got {stage}", "slo"));
        }

        if (stage >= options.MaxStageCount)
        {
            throw new ApiException(ApiError.Invalid($"slo.stage must be below {options.MaxStageCount}, the most stages a job may have, got {stage}", "slo"));
        }

        var stageCount = body?.StageCount ?? (stage + 1);
        if (stageCount < 1 || stage >= stageCount || stageCount > options.MaxStageCount)
        {
            throw new ApiException(ApiError.Invalid($"slo.stage_count must be in 1..{options.MaxStageCount} and above slo.stage, got {stageCount}", "slo"));
        }

        if (body?.App is { } app)
        {
            CheckedText(app, "slo");
        }

        if (body?.App is { } named && named.Length is 0 or > MaxNameLength)
        {
            throw new ApiException(ApiError.Invalid($"slo.app must be a name of 1 to {MaxNameLength} characters", "slo"));
        }

        var d = options.DefaultSlo;
        var slo = new Slo((ttft ?? (d.TtftS * 1000)) / 1000, (tbt ?? (d.TbtS * 1000)) / 1000, (deadline ?? (d.DeadlineS * 1000)) / 1000);
        return (cls, slo, cls == RequestClass.Collective ? jobKey : null, stage, stageCount, body?.App);
    }

    private static string? JobKey(JsonElement job) => job.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String when JsonText(job, "slo") is { Length: > 0 and <= MaxNameLength } s => s,
        JsonValueKind.Number when job.TryGetInt64(out var n) && n >= 0 => n.ToString(CultureInfo.InvariantCulture),
        _ => throw new ApiException(ApiError.Invalid("slo.job_id must be a non-empty string (at most 256 characters) or a non-negative integer", "slo")),
    };

    private static double? Ms(double? value, string name)
    {
        if (value is not { } v)
        {
            return null;
        }

        if (!double.IsFinite(v) || v <= 0 || v > ServerOptions.MaxSloMs)
        {
            throw new ApiException(ApiError.Invalid($"{name} must be a positive number of milliseconds up to {ServerOptions.MaxSloMs.ToString(CultureInfo.InvariantCulture)} (24 h), got {v.ToString(CultureInfo.InvariantCulture)}", "slo"));
        }

        return v;
    }

    private static double? HeaderMs(IHeaderDictionary headers, string name)
    {
        var raw = headers[name];
        if (raw.Count == 0)
        {
            return null;
        }

        if (raw.Count > 1 || !double.TryParse(raw[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
        {
            throw new ApiException(ApiError.Invalid($"header {name} must be one number of milliseconds, got '{raw}'", "slo"));
        }

        return Ms(v, "header " + name);
    }
}
