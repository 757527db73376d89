namespace Tempo.Workloads;

/// <summary>
/// Seeded random draws for workload generation. Each purpose (class shuffle, arrivals, lengths, …) gets its own
/// stream derived from the seed, so changing one knob (say the arrival process) leaves the other draws unchanged and
/// policies can be compared on the same requests.
/// </summary>
internal sealed class Sampler
{
    private readonly Random _random;

    /// <summary>Creates the stream <paramref name="stream"/> of <paramref name="seed"/>.</summary>
    public Sampler(int seed, WorkloadStream stream)
    {
        // SplitMix64 finaliser: decorrelates neighbouring (seed, stream) pairs before seeding System.Random, whose
        // seeded algorithm is fixed across .NET versions.
        var z = unchecked(((ulong)(uint)seed << 32) + (ulong)stream + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        _random = new Random((int)(z & int.MaxValue));
    }

    /// <summary>Uniform on [0, 1).</summary>
    public double Uniform() => _random.NextDouble();

    /// <summary>Uniform integer on [0, n).</summary>
    public int Next(int n) => _random.Next(n);

    /// <summary>Standard normal (Box–Muller; one draw per call keeps the stream position easy to reason about).</summary>
    public double Normal()
    {
        var u1 = 1.0 - _random.NextDouble(); // (0, 1], so the log is finite
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Exponential with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1.0 - _random.NextDouble());

    /// <summary>Gamma with shape <paramref name="shape"/> and scale 1 (Marsaglia–Tsang; boosted for shape &lt; 1).</summary>
    public double Gamma(double shape)
    {
        if (shape < 1)
        {
            // G(k) = G(k+1)·U^(1/k): Marsaglia–Tsang needs k ≥ 1.
            return Gamma(shape + 1) * Math.Pow(1.0 - _random.NextDouble(), 1.0 / shape);
        }

        var d = shape - (1.0 / 3.0);
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal();
                v = 1.0 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = 1.0 - _random.NextDouble();
            if (u < 1.0 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1.0 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    /// <summary>Poisson-distributed integer with mean <paramref name="lambda"/>.</summary>
    public long Poisson(double lambda)
    {
        if (lambda <= 0)
        {
            return 0;
        }

        if (lambda < 10)
        {
            // Multiplication method: exact and fast for small means.
            var limit = Math.Exp(-lambda);
            long k = 0;
            var p = _random.NextDouble();
            while (p > limit)
            {
                k++;
                p *= _random.NextDouble();
            }

            return k;
        }

        // Transformed rejection with squeeze (Hörmann 1993, "PTRS"): exact, O(1) expected draws for large means,
        // which the reference process needs at low rates (λ = 1000/rate ms, thousands for a deep-research stream).
        var slam = Math.Sqrt(lambda);
        var logLam = Math.Log(lambda);
        var b = 0.931 + (2.53 * slam);
        var a = -0.059 + (0.02483 * b);
        var invAlpha = 1.1239 + (1.1328 / (b - 3.4));
        var vr = 0.9277 - (3.6224 / (b - 2));
        while (true)
        {
            var u = _random.NextDouble() - 0.5;
            var v = _random.NextDouble();
            var us = 0.5 - Math.Abs(u);
            var k = Math.Floor((((2 * a / us) + b) * u) + lambda + 0.43);
            if (us >= 0.07 && v <= vr)
            {
                return (long)k;
            }

            if (k < 0 || (us < 0.013 && v > us))
            {
                continue;
            }

            if (Math.Log(v) + Math.Log(invAlpha) - Math.Log((a / (us * us)) + b) <= -lambda + (k * logLam) - LogGamma(k + 1))
            {
                return (long)k;
            }
        }
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Stirling series after shifting x above 7; error well below 1e-10).</summary>
    internal static double LogGamma(double x)
    {
        var shift = 0.0;
        while (x < 7)
        {
            shift += Math.Log(x);
            x += 1;
        }

        var inv = 1.0 / x;
        var inv2 = inv * inv;
        var series = inv * ((1.0 / 12) - (inv2 * ((1.0 / 360) - (inv2 * ((1.0 / 1260) - (inv2 / 1680))))));
        return ((x - 0.5) * Math.Log(x)) - x + (0.5 * Math.Log(2 * Math.PI)) + series - shift;
    }
}

/// <summary>Independent random streams of one workload seed.</summary>
internal enum WorkloadStream
{
    /// <summary>Which arrival gets which class.</summary>
    Classes = 1,

    /// <summary>Arrivals of the main (chat, throughput, tree-of-thought) stream.</summary>
    MainArrivals = 2,

    /// <summary>Arrivals of the deep-research stream.</summary>
    DeepResearchArrivals = 3,

    /// <summary>Chat prompt/output lengths and prompt text.</summary>
    Lengths = 4,

    /// <summary>Order in which recorded deep-research jobs are used.</summary>
    DeepResearchJobs = 5,
}
