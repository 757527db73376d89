using System.Globalization;

using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>How top-level arrival times are drawn for synthetic workloads.</summary>
public enum ArrivalProcess
{
    /// <summary>
    /// The JITServe artifact's generator (evaluation note A.4, docs/WORKLOADS.md): inter-arrival = Poisson(λ) integer milliseconds with
    /// λ = ⌊1000/rate⌋. Not exponential: the CV is 1/√λ (≈0.08 at 6 req/s), so arrivals are nearly periodic.
    /// </summary>
    Reference = 0,

    /// <summary>A true Poisson process: exponential inter-arrivals with mean 1/rate (CV 1).</summary>
    Poisson = 1,

    /// <summary>Gamma inter-arrivals with mean 1/rate and the coefficient of variation <see cref="WorkloadOptions.BurstCv"/> (CV &gt; 1 is bursty).</summary>
    Gamma = 2,
}

/// <summary>
/// Relative weights of the three request classes, as in the artifact's <c>--request_ratio a,b,c</c>. The collective
/// weight counts jobs and is divided by 7 before normalising (evaluation note A.3, docs/WORKLOADS.md), so 1:1:1 gives about 46.7% latency,
/// 46.7% throughput and 6.7% collective jobs by arrivals, and a roughly balanced mix by LLM calls.
/// </summary>
/// <param name="Latency">Weight of latency (streaming chat) requests.</param>
/// <param name="Throughput">Weight of throughput (deadline) requests.</param>
/// <param name="Collective">Weight of collective jobs, before the /7.</param>
public readonly record struct ClassRatio(double Latency, double Throughput, double Collective)
{
    /// <summary>The reference mix 1:1:1.</summary>
    public static ClassRatio Reference { get; } = new(1, 1, 1);

    /// <summary>Parses <c>"a,b,c"</c> or <c>"a:b:c"</c> (invariant culture); throws <see cref="FormatException"/> otherwise.</summary>
    public static ClassRatio Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split([',', ':']);
        if (parts.Length != 3)
        {
            throw new FormatException($"class ratio '{text}' must have three parts, latency,throughput,collective (for example 1,1,1).");
        }

        var values = new double[3];
        for (var i = 0; i < 3; i++)
        {
            if (!double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
            {
                throw new FormatException($"class ratio '{text}': '{parts[i].Trim()}' is not a number.");
            }
        }

        return new ClassRatio(values[0], values[1], values[2]);
    }

    /// <summary>Throws <see cref="ArgumentException"/> if a weight is negative or not finite, or all are zero.</summary>
    public void Validate()
    {
        if (!IsWeight(Latency) || !IsWeight(Throughput) || !IsWeight(Collective))
        {
            throw new ArgumentException($"class ratio {this}: weights must be finite and non-negative.");
        }

        if (Latency + Throughput + Collective <= 0)
        {
            throw new ArgumentException("class ratio: at least one weight must be positive.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Latency}:{Throughput}:{Collective}");

    private static bool IsWeight(double w) => double.IsFinite(w) && w >= 0;
}

/// <summary>
/// Knobs of <see cref="WorkloadCatalog.Create"/>. Defaults reproduce the artifact's reference setup (ratio 1:1:1, SLO
/// base 1 s / 100 ms / 10 s scaled ×{1,2,3,4}, the artifact's Poisson-ms arrivals, seed 42). Options a workload cannot
/// use are ignored (a JSONL file carries its own classes and SLOs; a built-in single-class workload fixes its ratio).
/// </summary>
public sealed record WorkloadOptions
{
    /// <summary>Number of requests synthetic workloads generate when <see cref="Requests"/> is null (the artifact's N=3000 runs).</summary>
    public const int DefaultRequests = 3000;

    /// <summary>
    /// Top-level arrivals N (a collective job counts as one, like the artifact's <c>num_prompts</c>). Null: 3000 for
    /// synthetic workloads, every row or request for traces. Traces shorter than N are replayed whole, never cycled.
    /// </summary>
    public int? Requests { get; init; }

    /// <summary>
    /// Top-level arrivals per second (a collective job counts as one). Traces are rescaled so their mean rate,
    /// (arrivals − 1) / (last − first arrival), equals it. Null: the workload's default rate for synthetic workloads,
    /// the trace's own timing for traces.
    /// </summary>
    public double? Rate { get; init; }

    /// <summary>Seed of every random choice; the same options give the same workload, bit for bit.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Arrival process of synthetic workloads.</summary>
    public ArrivalProcess Arrival { get; init; } = ArrivalProcess.Reference;

    /// <summary>Coefficient of variation of gamma inter-arrivals (<see cref="ArrivalProcess.Gamma"/> only); must be positive.</summary>
    public double BurstCv { get; init; } = 2.0;

    /// <summary>
    /// Base SLO triple before per-request scaling: TTFT, TBT and TTLT (the throughput deadline; collective jobs get
    /// TTLT × stage count). Default (1 s, 0.1 s, 10 s) as in the artifact's oracle run.
    /// </summary>
    public Slo SloBase { get; init; } = new(1.0, 0.1, 10.0);

    /// <summary>
    /// SLO tightness levels: request (or job) number i in its stream gets the base triple × ((i mod levels) + 1),
    /// so 4 gives the artifact's ×{1,2,3,4}; 1 gives every request the unscaled base (the v1 setting).
    /// </summary>
    public int SloLevels { get; init; } = 4;

    /// <summary>Class weights (collective weight divided by 7, as in the artifact).</summary>
    public ClassRatio Ratio { get; init; } = ClassRatio.Reference;

    /// <summary>Share of collective jobs that are tree-of-thought (rounded down); the rest are deep research.</summary>
    public double TotFraction { get; init; } = 0.5;

    /// <summary>
    /// Multiplies every request's prompt and output token counts (rounded to nearest, halves away from zero, at least
    /// 1), after they are drawn or read, so a workload can be sized for a slower engine. Tree-of-thought prompts are
    /// derived from the scaled chat prompt and thought length. 1 leaves the workload unchanged, bit for bit.
    /// </summary>
    public double LengthScale { get; init; } = 1.0;

    /// <summary>
    /// Multiplies every SLO time (TTFT, TBT, deadlines, job deadlines, and the SLOs a JSONL file carries) after the
    /// per-request tightness levels. 1 leaves the workload unchanged, bit for bit.
    /// </summary>
    public double SloScale { get; init; } = 1.0;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message naming the first invalid option.</summary>
    public void Validate()
    {
        if (Requests is { } n && n <= 0)
        {
            throw new ArgumentException($"requests must be positive, got {n}.");
        }

        if (Rate is { } r && (!double.IsFinite(r) || r <= 0))
        {
            throw new ArgumentException($"rate must be a positive number of arrivals per second, got {r.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!double.IsFinite(BurstCv) || BurstCv <= 0)
        {
            throw new ArgumentException($"burst CV must be a positive number, got {BurstCv.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!Enum.IsDefined(Arrival))
        {
            throw new ArgumentException($"unknown arrival process {(int)Arrival}.");
        }

        ArgumentNullException.ThrowIfNull(SloBase);
        SloBase.Validate();
        if (SloLevels < 1)
        {
            throw new ArgumentException($"SLO levels must be at least 1, got {SloLevels}.");
        }

        if (!double.IsFinite(LengthScale) || LengthScale <= 0)
        {
            throw new ArgumentException($"length scale must be a positive number, got {LengthScale.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!double.IsFinite(SloScale) || SloScale <= 0)
        {
            throw new ArgumentException($"SLO scale must be a positive number, got {SloScale.ToString(CultureInfo.InvariantCulture)}.");
        }

        Ratio.Validate();
        if (!double.IsFinite(TotFraction) || TotFraction < 0 || TotFraction > 1)
        {
            throw new ArgumentException($"tree-of-thought fraction must be in [0, 1], got {TotFraction.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    /// <summary>The SLO multiplier of the i-th request or job of a stream: (i mod levels) + 1.</summary>
    internal int Multiplier(int index) => (index % SloLevels) + 1;

    /// <summary>A request's token count under <see cref="LengthScale"/>: at least 1.</summary>
    internal int ScaleTokens(int tokens) => Math.Max(1, ScalePart(tokens));

    /// <summary>
    /// A part of a prompt (such as an instruction) under <see cref="LengthScale"/>; may round to 0, because the whole
    /// prompt it belongs to is at least 1 anyway.
    /// </summary>
    internal int ScalePart(int tokens)
    {
        // The identity short-cut is what makes scale 1 bit-for-bit unchanged, not merely equal after rounding.
        if (LengthScale == 1.0)
        {
            return tokens;
        }

        var scaled = Math.Round(tokens * LengthScale, MidpointRounding.AwayFromZero);
        return scaled <= int.MaxValue
            ? (int)scaled
            : throw new ArgumentException($"length scale {LengthScale.ToString(CultureInfo.InvariantCulture)} makes a {tokens}-token count exceed {int.MaxValue} tokens.");
    }

    /// <summary>An SLO under <see cref="SloScale"/>.</summary>
    internal Slo ScaleSlo(Slo slo) => SloScale == 1.0 ? slo : slo.Scale(SloScale);
}
