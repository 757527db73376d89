using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tempo.Server;

// The OpenAI wire format as Tempo speaks it, plus the request extensions of docs/SERVING.md (slo, priority,
// ignore_eos) and the "tempo" object in responses. Unknown request fields are ignored, as OpenAI clients send many.

/// <summary>Body of <c>POST /v1/chat/completions</c>.</summary>
internal sealed class ChatCompletionRequest : GenerationRequest
{
    public List<ChatMessageIn>? Messages { get; set; }

    public int? MaxCompletionTokens { get; set; }
}

/// <summary>Body of <c>POST /v1/completions</c>.</summary>
internal sealed class CompletionRequest : GenerationRequest
{
    /// <summary>A string, a one-element array of strings, or an array of token ids.</summary>
    public JsonElement Prompt { get; set; }
}

/// <summary>Fields shared by both generation endpoints.</summary>
internal abstract class GenerationRequest
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsIn? StreamOptions { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? Seed { get; set; }

    public int? N { get; set; }

    /// <summary>A string or an array of strings.</summary>
    public JsonElement Stop { get; set; }

    public bool? IgnoreEos { get; set; }

    public int? Priority { get; set; }

    public SloIn? Slo { get; set; }
}

internal sealed class StreamOptionsIn
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatMessageIn
{
    public string? Role { get; set; }

    /// <summary>A string, null, or an array of content parts (only text parts are supported).</summary>
    public JsonElement Content { get; set; }
}

/// <summary>The SLO extension: <c>"slo": {"class": "latency", "ttft_ms": 1000, "tbt_ms": 100}</c> and friends.</summary>
internal sealed class SloIn
{
    public string? Class { get; set; }

    public double? TtftMs { get; set; }

    public double? TbtMs { get; set; }

    public double? DeadlineMs { get; set; }

    /// <summary>A string or a non-negative integer naming the collective job.</summary>
    public JsonElement JobId { get; set; }

    public int? Stage { get; set; }

    public int? StageCount { get; set; }

    public string? App { get; set; }
}

internal sealed class ChatCompletionResponse
{
    public required string Id { get; init; }

    public string Object { get; init; } = "chat.completion";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public required List<ChatChoiceOut> Choices { get; init; }

    public UsageOut? Usage { get; init; }

    public TempoInfo? Tempo { get; init; }
}

internal sealed class ChatChoiceOut
{
    public int Index { get; init; }

    public required ChatMessageOut Message { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

internal sealed class ChatMessageOut
{
    public string Role { get; init; } = "assistant";

    public required string Content { get; init; }
}

internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }

    public string Object { get; init; } = "chat.completion.chunk";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public required List<ChatChunkChoice> Choices { get; init; }

    public UsageOut? Usage { get; init; }

    public TempoInfo? Tempo { get; init; }
}

internal sealed class ChatChunkChoice
{
    public int Index { get; init; }

    public required ChatDelta Delta { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

internal sealed class ChatDelta
{
    public string? Role { get; init; }

    public string? Content { get; init; }
}

/// <summary>A text completion, or one chunk of a streamed one (same shape, as in OpenAI's API).</summary>
internal sealed class CompletionResponse
{
    public required string Id { get; init; }

    public string Object { get; init; } = "text_completion";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public required List<CompletionChoice> Choices { get; init; }

    public UsageOut? Usage { get; init; }

    public TempoInfo? Tempo { get; init; }
}

internal sealed class CompletionChoice
{
    public int Index { get; init; }

    public required string Text { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

internal sealed class UsageOut
{
    public int PromptTokens { get; init; }

    public int CompletionTokens { get; init; }

    public int TotalTokens { get; init; }
}

/// <summary>The "tempo" object: what the server measured for this request and how it scored.</summary>
internal sealed class TempoInfo
{
    public long RequestId { get; init; }

    public required string Class { get; init; }

    /// <summary>Time to first token in seconds, measured from admission; null when no token was produced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public double? TtftS { get; init; }

    public double E2eS { get; init; }

    /// <summary>Largest gap between consecutive tokens, in seconds (0 with fewer than two tokens).</summary>
    public double MaxTbtS { get; init; }

    public bool SloMet { get; init; }

    public double ServiceGain { get; init; }

    public double MaxServiceGain { get; init; }

    /// <summary>stop, length, abort or rejected.</summary>
    public required string Finish { get; init; }

    public string? Detail { get; init; }

    public required SloOut Slo { get; init; }
}

internal sealed class SloOut
{
    public double TtftMs { get; init; }

    public double TbtMs { get; init; }

    public double DeadlineMs { get; init; }
}

internal sealed class ModelList
{
    public string Object { get; init; } = "list";

    public required List<ModelCard> Data { get; init; }
}

internal sealed class ModelCard
{
    public required string Id { get; init; }

    public string Object { get; init; } = "model";

    public long Created { get; init; }

    public string OwnedBy { get; init; } = "tempo";

    public int MaxModelLen { get; init; }
}

internal sealed class ErrorResponse
{
    public required ErrorBody Error { get; init; }
}

internal sealed class ErrorBody
{
    public required string Message { get; init; }

    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}

/// <summary>Source-generated JSON metadata for the wire types (snake_case, nulls left out unless marked).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class WireJson : JsonSerializerContext;
