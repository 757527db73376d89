using Tempo.Core;

namespace Tempo.Engine;

/// <summary>
/// The live state of one request inside the engine. Schedulers read it through the view; only the engine
/// changes queue, KV and token state. <see cref="LengthBound"/> and <see cref="PolicyState"/> belong to the
/// scheduler and its length predictor.
/// </summary>
public sealed class EngineRequest
{
    private readonly List<double> _tokenTimes = [];
    private int _lengthBound;

    internal EngineRequest(RequestSpec spec, double arrivalS, long sequence)
    {
        Spec = spec;
        ArrivalS = arrivalS;
        Sequence = sequence;
        _lengthBound = spec.OutputTokens;
    }

    /// <summary>The request as submitted.</summary>
    public RequestSpec Spec { get; }

    /// <summary>Request id (from the spec).</summary>
    public long Id => Spec.Id;

    /// <summary>When the engine received it.</summary>
    public double ArrivalS { get; }

    /// <summary>Submission order, a stable tie-breaker.</summary>
    public long Sequence { get; }

    /// <summary>Current queue.</summary>
    public RequestState State { get; internal set; }

    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens => Spec.PromptTokens;

    /// <summary>Output tokens generated so far.</summary>
    public int Generated => _tokenTimes.Count;

    /// <summary>Tokens whose KV has been computed (and is held on GPU or CPU).</summary>
    public int ComputedTokens { get; internal set; }

    /// <summary>Prompt plus generated tokens: what the KV must eventually hold.</summary>
    public int ContextTokens => PromptTokens + Generated;

    /// <summary>Tokens still to process before the next output token.</summary>
    public int PendingTokens => ContextTokens - ComputedTokens;

    /// <summary>True while prefilling (first time, or again after a recompute preemption).</summary>
    public bool IsPrefill => PendingTokens > 1 || Generated == 0;

    /// <summary>GPU KV blocks held.</summary>
    public int GpuBlocks { get; internal set; }

    /// <summary>CPU swap blocks held while swapped.</summary>
    public int CpuBlocks { get; internal set; }

    /// <summary>Times of each output token so far.</summary>
    public IReadOnlyList<double> TokenTimesS => _tokenTimes;

    /// <summary>Time of the first output token, if any.</summary>
    public double? FirstTokenS => _tokenTimes.Count > 0 ? _tokenTimes[0] : null;

    /// <summary>Times this request was preempted by swap.</summary>
    public int Swaps { get; internal set; }

    /// <summary>Times this request was preempted by recompute.</summary>
    public int Recomputes { get; internal set; }

    /// <summary>
    /// The single length estimate of this request (total output tokens expected), owned by its length
    /// predictor. It never falls to or below <see cref="Generated"/> while the request is live.
    /// </summary>
    public int LengthBound
    {
        get => _lengthBound;
        set => _lengthBound = Math.Max(value, Generated + 1);
    }

    /// <summary>Remaining output tokens by the current bound (always at least 1 while live).</summary>
    public int RemainingByBound => Math.Max(1, LengthBound - Generated);

    /// <summary>Epoch of the last <see cref="StepBudget"/> that put this request in its plan (see <see cref="StepBudget.Contains"/>).</summary>
    internal long PlanEpoch { get; set; }

    /// <summary>Free slot for the scheduling policy's per-request data (avoids side dictionaries).</summary>
    public object? PolicyState { get; set; }

    internal void AddToken(double timeS)
    {
        _tokenTimes.Add(timeS);
        if (_lengthBound <= Generated && Generated < Spec.OutputTokens)
        {
            _lengthBound = Generated + 1;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"req {Id} ({Spec.Class}, {State}, {Generated}/{Spec.OutputTokens} out)";
}
