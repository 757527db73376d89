namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>
/// What one engine step costs, learned online from measured step times, separately for decode-only steps and steps
/// that carry a prefill chunk (they differ by 2–3× on real engines), each with a spread estimate. Every time
/// Tempo reasons about ("will this finish by its deadline?") goes through here, so a cost profile that is off, or
/// a machine whose speed drifts, is corrected within tens of steps, and noisy steps widen margins instead of
/// flipping decisions.
/// </summary>
internal sealed class StepTimeModel
{
    private readonly double _smoothing;
    private Estimate _decode;
    private Estimate _mixed;

    // The marginal cost of a prefill token is a ratio of two running means (the time a chunk step takes beyond a
    // decode step, and the chunk's tokens), not a mean of per-step ratios: a step with a small chunk is mostly noise
    // and fixed cost, and its ratio would swamp the estimate.
    private Estimate _chunkExcess;
    private Estimate _chunkTokens;

    // How far a step strays from what this model predicted for its shape, relative to the prediction: the noise a
    // schedule that packs a step up to a deadline must leave room for.
    private Estimate _relativeError = new(0.1, 0, 0);

    /// <summary>A model that assumes <paramref name="initialStepS"/> a decode step (1.5× with a prefill chunk) until steps are measured.</summary>
    /// <param name="initialStepS">Decode-step cost assumed before any step is measured.</param>
    /// <param name="smoothing">EWMA weight of each new sample (0.05: about the last 20 steps).</param>
    public StepTimeModel(double initialStepS, double smoothing = 0.05)
        : this(new StepCostPrior(initialStepS, initialStepS * 1.5), smoothing)
    {
    }

    /// <summary>A model that starts from <paramref name="prior"/>.</summary>
    /// <param name="prior">Costs assumed before any step of each shape is measured.</param>
    /// <param name="smoothing">EWMA weight of each new sample.</param>
    /// <param name="tokenBudget">Tokens a prior prefill step carries (the step token budget), for the prior cost of a prefill token; 0 assumes none.</param>
    public StepTimeModel(StepCostPrior prior, double smoothing = 0.05, int tokenBudget = 0)
    {
        prior.Validate();
        _smoothing = smoothing;
        _decode = new(prior.DecodeStepS, prior.DecodeStepS * 0.1, 0);
        _mixed = new(prior.PrefillStepS, prior.PrefillStepS * 0.1, 0);
        _chunkExcess = new(Math.Max(0, prior.PrefillStepS - prior.DecodeStepS), 0, 0);
        _chunkTokens = new(Math.Max(0, tokenBudget), 0, 0);
    }

    /// <summary>Mean cost of a decode-only step.</summary>
    public double DecodeS => _decode.MeanS;

    /// <summary>Mean cost of a step with a prefill chunk (until one is measured, derived from decode steps).</summary>
    public double PrefillS => _mixed.Samples > 0 ? _mixed.MeanS : Math.Max(_mixed.MeanS, _decode.MeanS * 1.5);

    /// <summary>
    /// What one more prefill token adds to a step, in seconds: the mean time a chunk step takes beyond a decode step,
    /// over the mean chunk. 0 until a chunk is measured when the prior carried no token budget.
    /// </summary>
    public double PrefillTokenS => _chunkTokens.MeanS > 0 ? _chunkExcess.MeanS / _chunkTokens.MeanS : 0;

    /// <summary>Mean absolute error of the model's step predictions, relative to them (0.1 until steps are measured).</summary>
    public double RelativeSpread => _relativeError.MeanS;

    /// <summary>Mean absolute deviation of step costs (the larger of the two shapes).</summary>
    public double SpreadS => Math.Max(_decode.DeviationS, _mixed.DeviationS);

    /// <summary>Folds in one measured step that carried <paramref name="prefillTokens"/> prefill tokens (0: decodes only).</summary>
    public void Observe(double durationS, int prefillTokens)
    {
        if (!(durationS > 0) || double.IsInfinity(durationS))
        {
            return;
        }

        var predicted = _decode.MeanS + (prefillTokens > 0 ? prefillTokens * PrefillTokenS : 0);
        if (predicted > 0)
        {
            _relativeError = _relativeError.With(Math.Abs((durationS / predicted) - 1), _smoothing);
        }

        if (prefillTokens > 0)
        {
            _mixed = _mixed.With(durationS, _smoothing);
            _chunkExcess = _chunkExcess.With(Math.Max(0, durationS - _decode.MeanS), _smoothing);
            _chunkTokens = _chunkTokens.With(prefillTokens, _smoothing);
        }
        else
        {
            _decode = _decode.With(durationS, _smoothing);
        }
    }

    /// <summary>
    /// Time to run <paramref name="prefillSteps"/> chunk steps and <paramref name="decodeSteps"/> decode steps, plus
    /// <paramref name="sigmas"/> spreads scaled by √steps (independent step noise).
    /// </summary>
    public double TimeFor(double prefillSteps, double decodeSteps, double sigmas)
    {
        var mean = (prefillSteps * PrefillS) + (decodeSteps * DecodeS);
        return sigmas == 0 ? mean : mean + (sigmas * SpreadS * Math.Sqrt(prefillSteps + decodeSteps));
    }

    private readonly record struct Estimate(double MeanS, double DeviationS, long Samples)
    {
        public Estimate With(double x, double alpha)
        {
            // The first samples move the estimate fast (a running mean), later ones at the EWMA rate.
            var a = Math.Max(alpha, 1.0 / (Samples + 1));
            var mean = MeanS + (a * (x - MeanS));
            return new Estimate(mean, DeviationS + (a * (Math.Abs(x - mean) - DeviationS)), Samples + 1);
        }
    }
}
