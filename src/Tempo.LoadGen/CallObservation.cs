using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>What the client saw of one call: client-clock times in seconds since the run started.</summary>
/// <param name="SendS">When the request was handed to the HTTP stack (the call's arrival).</param>
/// <param name="TokenTimesS">Arrival time of each output token (see <see cref="TokenAttribution"/>).</param>
/// <param name="EndS">When <c>[DONE]</c> (or the end of the stream, or the failure) was seen.</param>
/// <param name="Reason">How it ended.</param>
/// <param name="Detail">Why it failed, for aborted calls.</param>
/// <param name="ErrorKind">Short error class for the summary ("http 500", "timeout", "connection refused", ...).</param>
/// <param name="ContentChunks">Chunks that carried output text.</param>
/// <param name="UsageCompletionTokens">Server-reported output tokens, when it sent usage.</param>
/// <param name="UsagePromptTokens">Server-reported prompt tokens, when it sent usage.</param>
internal sealed record CallObservation(
    double SendS,
    IReadOnlyList<double> TokenTimesS,
    double EndS,
    FinishReason Reason,
    string? Detail,
    string? ErrorKind,
    int ContentChunks,
    int? UsageCompletionTokens,
    int? UsagePromptTokens)
{
    /// <summary>
    /// The first send lost its connection before any response and this is the outcome of the one retry on a fresh
    /// connection.
    /// </summary>
    public bool Retried { get; init; }

    /// <summary>True when the server delivered a full response.</summary>
    public bool Completed => Reason.IsCompleted();

    /// <summary>A call that failed before or while streaming.</summary>
    public static CallObservation Failed(double sendS, double endS, string kind, string detail, IReadOnlyList<double>? tokens = null) =>
        new(sendS, tokens ?? [], endS, FinishReason.Aborted, $"{kind}: {detail}", kind, 0, null, null);
}
