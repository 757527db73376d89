namespace Tempo.Scheduling.Prediction;

/// <summary>
/// A request's conditional length distribution from the forest (a sorted weighted histogram of the training
/// targets in the leaves it reached), kept from admission so that refinement needs no model re-run (§4.3).
/// </summary>
internal sealed class QuantilePosterior : ILengthPosterior
{
    // Guards the comparison F(y) ≥ target against rounding in the cumulative weights.
    private const double CdfTolerance = 1e-12;

    private readonly int[] values;
    private readonly double[] cdf;
    private readonly double quantile;
    private readonly int? maxBound;
    private readonly double outlivedGrowth;

    /// <summary>Creates the posterior from distinct ascending <paramref name="values"/> and their cumulative weights (last = 1).</summary>
    public QuantilePosterior(int[] values, double[] cdf, double quantile, int? maxBound, double outlivedGrowth)
    {
        if (values.Length == 0 || values.Length != cdf.Length)
        {
            throw new ArgumentException("a posterior needs at least one value and one cumulative weight per value");
        }

        this.values = values;
        this.cdf = cdf;
        this.quantile = quantile;
        this.maxBound = maxBound;
        this.outlivedGrowth = outlivedGrowth;
    }

    /// <summary>Distinct target values, ascending.</summary>
    public IReadOnlyList<int> Values => values;

    /// <summary>F at each value: the pooled weight of targets ≤ it.</summary>
    public IReadOnlyList<double> Cdf => cdf;

    /// <summary>
    /// L̂_q(g) = the smallest y &gt; g with (F(y) − F(g)) / (1 − F(g)) ≥ q: the q-quantile of the length given that
    /// it exceeds g. At g = 0 this is the plain q-quantile (lengths are ≥ 1). Once g reaches the largest target
    /// (F(g) = 1) the request has outlived every neighbour and the bound is max(g + 1, ⌈γ·g⌉). The optional cap
    /// applies only while it is above g. Result: always &gt; g and non-decreasing in g (a larger g raises both
    /// F(g) and the floor y &gt; g); saturates at <see cref="int.MaxValue"/>.
    /// </summary>
    public int BoundAfter(int generated) => QuantileAfter(generated, quantile);

    /// <inheritdoc />
    public int QuantileAfter(int generated, double quantile)
    {
        var g = Math.Max(0, generated);

        // above = index of the first value > g; F(g) = cdf[above − 1].
        var above = UpperBound(g);
        long bound;
        if (above == values.Length)
        {
            bound = Math.Max((long)g + 1, (long)Math.Ceiling(outlivedGrowth * g));
        }
        else
        {
            var below = above == 0 ? 0.0 : cdf[above - 1];
            var target = below + (quantile * (1 - below)) - CdfTolerance;
            var lo = above;
            var hi = values.Length - 1;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (cdf[mid] >= target)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            bound = values[lo];
        }

        if (maxBound is { } cap && cap > g && bound > cap)
        {
            bound = cap;
        }

        return (int)Math.Min(bound, int.MaxValue);
    }

    private int UpperBound(int g)
    {
        var lo = 0;
        var hi = values.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] <= g)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
