namespace Tempo.Scheduling.Gain;

/// <summary>
/// The unit time u, seconds per scheduler iteration, measured online (§6.1 [REC]): an exponentially weighted mean
/// of executed step durations, starting from the first measurement. Before any, <paramref name="initialS"/>
/// (0.02 s).
/// </summary>
internal sealed class UnitTimeEstimator(double initialS, double smoothing)
{
    /// <summary>Current estimate of u in seconds.</summary>
    public double CurrentS { get; private set; } = initialS;

    /// <summary>Steps measured so far.</summary>
    public long Samples { get; private set; }

    /// <summary>Folds in one step's duration; non-positive or non-finite durations are ignored.</summary>
    public void Observe(double durationS)
    {
        if (!(durationS > 0) || double.IsInfinity(durationS))
        {
            return;
        }

        CurrentS = Samples == 0 ? durationS : CurrentS + (smoothing * (durationS - CurrentS));
        Samples++;
    }
}
