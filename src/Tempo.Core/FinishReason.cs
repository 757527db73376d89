namespace Tempo.Core;

/// <summary>How a request left the system. Every submitted request ends exactly once with one of these.</summary>
public enum FinishReason
{
    /// <summary>Generated all requested tokens (max_tokens / trace length).</summary>
    Length,

    /// <summary>The model emitted end-of-sequence or a stop string.</summary>
    Stop,

    /// <summary>Accepted, then aborted (client disconnect, shutdown, infeasible swap-in, idle abort).</summary>
    Aborted,

    /// <summary>Refused at admission (prompt too long for the cache or context, bad input).</summary>
    Rejected,
}

/// <summary>Helpers on <see cref="FinishReason"/>.</summary>
public static class FinishReasonExtensions
{
    /// <summary>True when the request produced its full response.</summary>
    public static bool IsCompleted(this FinishReason reason) => reason is FinishReason.Length or FinishReason.Stop;
}
