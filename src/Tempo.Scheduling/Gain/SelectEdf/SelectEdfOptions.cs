namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>Parameters of the <c>tempo</c> policy (<see cref="SelectEdfScheduler"/>); each mechanism can be turned off for ablations.</summary>
public sealed record SelectEdfOptions
{
    /// <summary>Defaults.</summary>
    public static SelectEdfOptions Default { get; } = new();

    /// <summary>Quantile of the remaining length used to rank and to count work (0.5: the conditional median).</summary>
    public double RankQuantile { get; init; } = 0.5;

    /// <summary>Quantile of the remaining length a request must fit by its deadline to count as feasible (0.8).</summary>
    public double FeasibilityQuantile { get; init; } = 0.8;

    /// <summary>Spreads of step time (× √steps) added to a feasibility estimate (1).</summary>
    public double MarginSigmas { get; init; } = 1;

    /// <summary>Step cost assumed before the first step is measured, in seconds.</summary>
    public double InitialStepS { get; init; } = 0.02;

    /// <summary>
    /// List-schedule the queued feasible requests onto the batch slots in latest-start order and shed those that would
    /// miss; a shed also marks overload, which switches the order to value density. Off: any request at risk does.
    /// </summary>
    public bool Select { get; init; } = true;

    /// <summary>
    /// Judge overload (which switches the order to value density) by a backlog: more queued requests doomed than the
    /// batch holds. Off: any request the slot schedule sheds is overload, as the gateway judges it.
    /// </summary>
    public bool BacklogOverload { get; init; } = true;

    /// <summary>
    /// While there is no backlog, a request the slot schedule sheds keeps its place in urgency order (the verdict only
    /// counts toward the backlog); off, it falls behind every safe request at once.
    /// </summary>
    public bool SlotShedKeepsPlace { get; init; } = true;

    /// <summary>Order the selected requests by latest start time (least laxity first); off orders them by value density.</summary>
    public bool UrgencyOrder { get; init; } = true;

    /// <summary>
    /// While value density orders the safe requests, read it in bands of this ratio (1.25): inside a band latency streams
    /// go first, most urgent first, then the rest by density (<see cref="DensityBands"/>). 1 is plain density order.
    /// </summary>
    public double StreamBand { get; init; } = 1.25;

    /// <summary>Count remaining prefill chunks in a request's remaining time; off counts decode tokens only.</summary>
    public bool PrefillAware { get; init; } = true;

    /// <summary>Add the mean request value to each request's value, so finishing more requests counts, not only tokens.</summary>
    public bool CountBonus { get; init; } = true;

    /// <summary>
    /// A latency stream that has lost its SLO keeps the gain its later tokens can still earn on the cumulative
    /// schedule, and competes for leftover capacity by that value; off drops it below every live request.
    /// </summary>
    public bool LostStreamGain { get; init; } = true;

    /// <summary>
    /// Serve SLO-dead work longest first (a job call by the typical time to its job's end): it runs only on leftover
    /// capacity, and starting the longest first keeps the batch full to the end instead of leaving one long chain to
    /// run alone after everything else. Off, dead work is ordered by value density like the rest.
    /// </summary>
    public bool DeadByLongest { get; init; } = true;

    /// <summary>
    /// The quantile of the remaining length by which <see cref="DeadByLongest"/> orders dead work (0.9). Answers have
    /// long tails, and what ends a run is the longest dead answer started last: packing by the median starts first the
    /// work that is long on average, not the work that may be very long. Set it to <see cref="RankQuantile"/> to pack
    /// by the median.
    /// </summary>
    public double DeadLengthQuantile { get; init; } = 0.9;

    /// <summary>
    /// Among dead work, serve first the lost streams that could still earn if their answer is longer than typical: a
    /// stream whose later tokens can catch up with its cumulative schedule only past its median length (but before
    /// its <see cref="MayEarnQuantile"/>) may still earn, while a call past its deadline earns nothing whenever it is
    /// served. Off, all dead work is in one tier.
    /// </summary>
    public bool DeadThatMayEarnFirst { get; init; } = true;

    /// <summary>The upper quantile of the length posterior <see cref="DeadThatMayEarnFirst"/> reads.</summary>
    public double MayEarnQuantile { get; init; } = 0.9;

    /// <summary>
    /// Order a job call by a latest start that reserves each later stage of its job at least the mean job call seen so
    /// far, not only as long as this call: a short first stage of a job whose later stages are long then starts in time
    /// for them. Feasibility and death still reserve later stages as long as this call. Off, the order uses that too.
    /// </summary>
    public bool LaterStagesAtMeanCall { get; init; } = true;

    /// <summary>
    /// Under a backlog, a job that has not started yet and has more stages than the jobs seen so far on average waits
    /// behind the safe work: each later stage of a job queues for a slot under a backlog, so the long chains started
    /// then are the ones that miss, and their calls take the contested capacity. Off, such a job competes as any call.
    /// </summary>
    public bool LongJobsWaitInBacklog { get; init; } = true;

    /// <summary>
    /// Keep each step short enough for the running streams: a step carries no more prefill tokens than fit before the
    /// next token of the tightest running stream that can still meet its SLO is due. Off, chunks fill the token budget.
    /// </summary>
    public bool GapAwareChunks { get; init; } = true;

    /// <summary>
    /// How many times its typical relative error a step may overrun and still keep the streams on pace, for
    /// <see cref="GapAwareChunks"/>: one late step breaks a stream's SLO for good, so the margin is wider than a mean's.
    /// </summary>
    public double GapMarginSpreads { get; init; } = 3;

    /// <summary>
    /// In-progress prefills and new requests share the step's prefill tokens in policy order; off, in-progress prefills
    /// take theirs first (vLLM), so an urgent new stream can wait behind the long prompt of a relaxed call.
    /// </summary>
    public bool PrefillsInOrder { get; init; } = true;

    /// <summary>Let an urgent waiting request displace a runner outside the selected set in the same step.</summary>
    public bool Preempt { get; init; }

    /// <summary>Most runners displaced per step.</summary>
    public int MaxPreemptionsPerStep { get; init; } = 2;

    /// <summary>
    /// Shed (end with <see cref="Core.SloShedding.Code"/>) a request that has produced no token once its SLO cannot be
    /// met: a stream whose first token cannot come by its TTFT, or a call that cannot finish by its deadline even on
    /// its typical length. Off by default: a shed request counts as missed, and serving it late may still earn gain.
    /// </summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>Learn step costs online from measured steps; off keeps <see cref="InitialStepS"/> (a wrong belief stays wrong).</summary>
    public bool OnlineStepTime { get; init; } = true;

    /// <summary>
    /// Run the whole selection (price every live request, list-schedule the safe queue, judge overload, shed) every
    /// this many steps; the steps between price only what moved: the runners, new arrivals, preempted requests and
    /// queued requests whose tier is due to change by the clock. 1 re-plans every step; 4 (the default) decided as well
    /// on the workload matrix at about half the mean decision cost (docs/BENCHMARKS.md §20).
    /// </summary>
    public int ReplanSteps { get; init; } = 4;

    /// <summary>
    /// How far the pricing basis (step costs, their spread, the count bonus; <see cref="PricingBasis"/>) may drift,
    /// relatively, before a re-plan prices every live request again. Within it, a re-plan prices only what moved, as the
    /// steps between re-plans do, and re-runs the selection on the kept prices. 0 prices everything at every re-plan;
    /// 0.1 (the default, with <see cref="FullReplanEvery"/> 64) decided as well on the workload matrix and simulates
    /// about 2.8× faster in deep overload (docs/BENCHMARKS.md §27).
    /// </summary>
    public double ReplanDrift { get; init; } = 0.1;

    /// <summary>At least every this many re-plans price every live request, whatever the drift (kept prices age with the clock too).</summary>
    public int FullReplanEvery { get; init; } = 64;

    /// <summary>Throws <see cref="ArgumentException"/> on an invalid value.</summary>
    public void Validate()
    {
        // Written so that NaN fails too.
        if (!(RankQuantile is > 0 and < 1) || !(FeasibilityQuantile is > 0 and < 1) || !(MayEarnQuantile is > 0 and < 1)
            || !(DeadLengthQuantile is > 0 and < 1))
        {
            throw new ArgumentException("tempo quantiles must be in (0, 1)");
        }

        if (!(StreamBand >= 1) || double.IsInfinity(StreamBand))
        {
            throw new ArgumentException("tempo stream band must be a finite ratio of at least 1");
        }

        if (!(MarginSigmas >= 0) || !(GapMarginSpreads >= 0) || !(InitialStepS > 0) || MaxPreemptionsPerStep < 0 || ReplanSteps < 1)
        {
            throw new ArgumentException("tempo margin, initial step time and preemption limit must be non-negative (step time positive, re-plan interval at least one step)");
        }

        if (!(ReplanDrift >= 0) || double.IsInfinity(ReplanDrift) || FullReplanEvery < 1)
        {
            throw new ArgumentException("tempo re-plan drift must be a finite non-negative fraction and the full re-plan period at least one re-plan");
        }
    }
}
