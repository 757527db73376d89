namespace Tempo.Engine;

/// <summary>Counters of one engine's life.</summary>
public sealed class EngineStats
{
    /// <summary>Steps executed.</summary>
    public long Steps { get; internal set; }

    /// <summary>Steps that ran an empty batch (nothing schedulable).</summary>
    public long IdleSteps { get; internal set; }

    /// <summary>Prompt (prefill) tokens processed, recomputation included.</summary>
    public long PrefillTokens { get; internal set; }

    /// <summary>Decode tokens processed.</summary>
    public long DecodeTokens { get; internal set; }

    /// <summary>Preemptions by swap.</summary>
    public long SwapOuts { get; internal set; }

    /// <summary>Swap-ins.</summary>
    public long SwapIns { get; internal set; }

    /// <summary>Preemptions by recompute.</summary>
    public long Recomputes { get; internal set; }

    /// <summary>Requests submitted.</summary>
    public long Submitted { get; internal set; }

    /// <summary>Requests ended (any reason).</summary>
    public long Ended { get; internal set; }

    /// <summary>Sum of step durations in seconds.</summary>
    public double BusyS { get; internal set; }

    /// <summary>The counters of several engines added up, as one fleet's.</summary>
    public static EngineStats Sum(IEnumerable<EngineStats> engines)
    {
        ArgumentNullException.ThrowIfNull(engines);
        var total = new EngineStats();
        foreach (var e in engines)
        {
            total.Steps += e.Steps;
            total.IdleSteps += e.IdleSteps;
            total.PrefillTokens += e.PrefillTokens;
            total.DecodeTokens += e.DecodeTokens;
            total.SwapOuts += e.SwapOuts;
            total.SwapIns += e.SwapIns;
            total.Recomputes += e.Recomputes;
            total.Submitted += e.Submitted;
            total.Ended += e.Ended;
            total.BusyS += e.BusyS;
        }

        return total;
    }
}
