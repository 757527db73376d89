namespace Tempo.Workloads;

/// <summary>Arrival times of one client stream, and rescaling of recorded ones.</summary>
internal static class ArrivalTimes
{
    /// <summary>
    /// <paramref name="count"/> arrival times in seconds at <paramref name="rate"/> per second. The first arrival is
    /// at t = 0 (the artifact's client sends, then sleeps); each later one follows an inter-arrival gap drawn from
    /// <paramref name="process"/>.
    /// </summary>
    public static double[] Generate(ArrivalProcess process, int count, double rate, double cv, Sampler rng)
    {
        var times = new double[count];
        var mean = 1.0 / rate;

        // Reference: λ is truncated to whole ms as in the artifact (np.random.poisson(int(1000/rate))), so the
        // realised rate is slightly above the nominal one (6.024/s at 6/s); kept for faithful reproduction.
        var lambdaMs = Math.Floor(1000.0 / rate);
        var shape = 1.0 / (cv * cv);
        var t = 0.0;
        long ms = 0;
        for (var i = 1; i < count; i++)
        {
            switch (process)
            {
                case ArrivalProcess.Reference:
                    // Summed in whole ms so arrival times print as the artifact's (2.802, not 2.8019999999999996).
                    ms += rng.Poisson(lambdaMs);
                    t = ms / 1000.0;
                    break;
                case ArrivalProcess.Poisson:
                    t += rng.Exponential(mean);
                    break;
                case ArrivalProcess.Gamma:
                    t += rng.Gamma(shape) * mean / shape;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(process), process, "unknown arrival process");
            }

            times[i] = t;
        }

        return times;
    }

    /// <summary>
    /// The factor that maps recorded gaps to the requested mean rate: observed rate / requested rate, where the
    /// observed rate is (n − 1) / (last − first). 1 when there is no rate or no span to rescale.
    /// </summary>
    public static double RescaleFactor(IReadOnlyList<double> sortedTimes, double? rate)
    {
        if (rate is not { } r || sortedTimes.Count < 2)
        {
            return 1.0;
        }

        var span = sortedTimes[^1] - sortedTimes[0];
        return span > 0 ? (sortedTimes.Count - 1) / span / r : 1.0;
    }
}
