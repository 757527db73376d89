using System.Text;

using Tempo.Engine;
using Tempo.Server;
using Tempo.Simulation.Profiles;

namespace Tempo.Backends;

/// <summary>
/// A model-free backend for testing clients and routers: each step takes the <see cref="CostModel"/>'s duration
/// on the real clock (divided by <see cref="Speed"/>) and every produced token is the placeholder text
/// <see cref="PlaceholderToken"/>. Responses never stop early, so they always run to <c>max_tokens</c>.
/// </summary>
/// <remarks>
/// Tokenizer: one token per started 4 characters of the prompt text (the usual rule of thumb for English BPE
/// vocabularies), so prompt lengths and therefore prefill costs scale with the text a client sends.
/// </remarks>
public sealed class SimulatedBackend : IServingBackend
{
    /// <summary>Text of every generated token.</summary>
    public const string PlaceholderToken = " tok";

    /// <summary>Characters per prompt token of the simulated tokenizer.</summary>
    public const int CharsPerToken = 4;

    private readonly CostModel _model;

    /// <summary>Creates a backend over a cost profile.</summary>
    /// <param name="profile">Step costs, KV capacity and context length.</param>
    /// <param name="speed">Time compression: 1 is real time, 10 runs every step ten times faster (tests).</param>
    /// <param name="modelName">Name served to clients; default <c>sim-&lt;profile name&gt;</c>.</param>
    public SimulatedBackend(CostProfile profile, double speed = 1, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (!double.IsFinite(speed) || speed <= 0)
        {
            throw new ArgumentException($"simulation speed must be a positive number, got {speed}");
        }

        _model = new CostModel(profile);
        Profile = profile;
        Speed = speed;
        ModelName = string.IsNullOrWhiteSpace(modelName) ? "sim-" + profile.Name : modelName;
    }

    /// <summary>The cost profile.</summary>
    public CostProfile Profile { get; }

    /// <summary>Time compression factor.</summary>
    public double Speed { get; }

    /// <inheritdoc />
    public string ModelName { get; }

    /// <inheritdoc />
    public int ContextSize => Profile.MaxModelLen;

    /// <inheritdoc />
    public int? VocabularySize => null;

    /// <inheritdoc />
    public IClock Clock { get; } = new WallClock();

    /// <inheritdoc />
    public TokenizedPrompt Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new TokenizedPrompt((text.Length + CharsPerToken - 1) / CharsPerToken, null);
    }

    /// <inheritdoc />
    public string ApplyChatTemplate(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        foreach (var m in messages)
        {
            text.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append('\n');
        }

        return text.Append("<|assistant|>\n").ToString();
    }

    /// <inheritdoc />
    public string TokenText(int tokenId) => PlaceholderToken;

    /// <inheritdoc />
    public EngineConfig EngineConfigFor(int maxBatch, int tokenBudget) => Profile.ToEngineConfig(maxBatch, tokenBudget);

    /// <inheritdoc />
    public IExecutor CreateExecutor(EngineConfig config) => new PacedExecutor(_model, Speed);

    /// <inheritdoc />
    public void Dispose()
    {
        // Nothing native to release; the interface is disposable for real models.
    }
}

/// <summary>
/// Prices a step with the cost model and then sleeps for that long on the engine thread, so the wall clock moves
/// as the modelled GPU would. Sleeping (not spinning) keeps an idle-looking server off the CPU. Time and sleep are
/// injected so a test can check the pacing on a fake clock.
/// </summary>
internal sealed class PacedExecutor(CostModel model, double speed, TimeProvider time, Action<TimeSpan> sleep) : IExecutor
{
    private static readonly SequenceOutput Token = new(0, false, SimulatedBackend.PlaceholderToken);

    /// <summary>Paces on the system clock with <see cref="Thread.Sleep(int)"/> (millisecond granularity).</summary>
    public PacedExecutor(CostModel model, double speed)
        : this(model, speed, TimeProvider.System, d => Thread.Sleep((int)Math.Round(d.TotalMilliseconds)))
    {
    }

    public StepResult Execute(StepBatch batch)
    {
        var started = time.GetTimestamp();
        var targetS = model.StepTimeS(batch) / speed;
        var outputs = new List<SequenceOutput>(batch.Entries.Count);
        foreach (var e in batch.Entries)
        {
            if (e.ProducesToken)
            {
                outputs.Add(Token);
            }
        }

        var remaining = TimeSpan.FromSeconds(targetS) - time.GetElapsedTime(started);
        if (remaining >= TimeSpan.FromMilliseconds(0.5))
        {
            sleep(remaining);
        }

        return new StepResult(time.GetElapsedTime(started).TotalSeconds, outputs);
    }
}
