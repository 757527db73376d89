namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// Whether CPU swap space is healthy enough for a re-plan to initiate swap-outs (§3.2): it turns unhealthy when
/// the free fraction drops below <paramref name="low"/> (0.2) and healthy again only above
/// <paramref name="high"/> (0.8), so re-plans do not flap around one threshold.
/// </summary>
internal sealed class CpuSwapHysteresis(double low, double high)
{
    /// <summary>The current verdict.</summary>
    public bool Healthy { get; private set; } = true;

    /// <summary>
    /// Updates the verdict from the free CPU-swap fraction. With no swap space at all, preemptions fall back to
    /// recompute, which consumes none, so the gate stays open.
    /// </summary>
    public bool Update(double freeFraction, bool hasSwapSpace)
    {
        if (!hasSwapSpace)
        {
            Healthy = true;
        }
        else if (Healthy)
        {
            Healthy = freeFraction >= low;
        }
        else
        {
            Healthy = freeFraction > high;
        }

        return Healthy;
    }
}
