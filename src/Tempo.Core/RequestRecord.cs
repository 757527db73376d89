namespace Tempo.Core;

/// <summary>
/// The observed life of one request: arrival, the time each output token reached the client, and how it
/// ended. Metrics are computed from these records only, exactly as a client would.
/// </summary>
public sealed class RequestRecord
{
    /// <summary>Creates a record.</summary>
    /// <param name="spec">The request as submitted.</param>
    /// <param name="arrivalS">When the engine received it (collective calls: when their stage was released).</param>
    /// <param name="tokenTimesS">Absolute time of each output token, in order.</param>
    /// <param name="finishS">When it ended.</param>
    /// <param name="reason">How it ended.</param>
    /// <param name="detail">Why, for aborted or rejected requests.</param>
    public RequestRecord(RequestSpec spec, double arrivalS, IReadOnlyList<double> tokenTimesS, double finishS, FinishReason reason, string? detail = null)
    {
        Spec = spec;
        ArrivalS = arrivalS;
        TokenTimesS = tokenTimesS;
        FinishS = finishS;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>The request as submitted.</summary>
    public RequestSpec Spec { get; }

    /// <summary>When the engine received the request.</summary>
    public double ArrivalS { get; }

    /// <summary>Absolute time of each output token.</summary>
    public IReadOnlyList<double> TokenTimesS { get; }

    /// <summary>When the request ended.</summary>
    public double FinishS { get; }

    /// <summary>How the request ended.</summary>
    public FinishReason Reason { get; }

    /// <summary>Why it was aborted or rejected, if it was.</summary>
    public string? Detail { get; }

    /// <summary>True when the full response was produced.</summary>
    public bool Completed => Reason.IsCompleted();

    /// <summary>Time to first token in seconds, or null when no token was produced.</summary>
    public double? TtftS => TokenTimesS.Count > 0 ? TokenTimesS[0] - ArrivalS : null;

    /// <summary>End-to-end latency in seconds (arrival to finish).</summary>
    public double E2eS => FinishS - ArrivalS;

    /// <summary>Gaps between consecutive output tokens, in seconds.</summary>
    public IEnumerable<double> TbtGapsS()
    {
        for (var i = 1; i < TokenTimesS.Count; i++)
        {
            yield return TokenTimesS[i] - TokenTimesS[i - 1];
        }
    }
}
