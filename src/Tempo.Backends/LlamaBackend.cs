using System.Text;

using Tempo.Engine;
using Tempo.Llama;
using Tempo.Server;

namespace Tempo.Backends;

/// <summary>
/// A GGUF model run by llama.cpp through <see cref="LlamaModel"/>: real tokenizer, real forward passes, sampled
/// tokens with EOS and stop strings handled by the executor. The engine's KV blocks map onto the model's cache.
/// </summary>
/// <remarks>
/// Chat prompts use the chat template stored in the GGUF file (<c>tokenizer.chat_template</c>), applied by llama.cpp,
/// so a Llama 3 or Qwen model gets the prompt format it was trained on. A file without a template, or with one
/// llama.cpp does not recognise, gets a ChatML-style prompt (<c>&lt;|im_start|&gt;role … &lt;|im_end|&gt;</c>), and
/// <see cref="ChatFormat"/> says so (<c>tempo serve</c> prints it at start). The completions endpoint sends text
/// unchanged.
/// </remarks>
public sealed class LlamaBackend : IServingBackend
{
    private readonly LlamaModel _model;
    private LlamaExecutor? _executor;

    private LlamaBackend(LlamaModel model, string modelName)
    {
        _model = model;
        ModelName = modelName;

        // Probe once: a template llama.cpp cannot apply fails the same way for every conversation.
        UsesModelTemplate = model.ApplyChatTemplate([("user", "hello")]) is not null;
        ChatFormat = UsesModelTemplate ? "the model's own chat template (from the GGUF file)"
            : model.ChatTemplate is null ? "ChatML (the GGUF file has no chat template)"
            : "ChatML (llama.cpp does not recognise the GGUF file's chat template)";
    }

    /// <summary>True when chat prompts use the template stored in the model file.</summary>
    public bool UsesModelTemplate { get; }

    /// <summary>Which chat format chat prompts get, and why, in words for the start-up log.</summary>
    public string ChatFormat { get; }

    /// <summary>
    /// Loads a GGUF file. Throws <see cref="FileNotFoundException"/> for a missing file and
    /// <see cref="InvalidDataException"/> when llama.cpp cannot load it.
    /// </summary>
    /// <param name="path">The .gguf file.</param>
    /// <param name="threads">CPU threads per forward pass; null means all cores.</param>
    /// <param name="contextSize">KV cells shared by all sequences; null means the model's training context.</param>
    /// <param name="modelName">Name served to clients; default the file name without extension.</param>
    /// <param name="kvLayout">One shared pool of KV cells, or one slice per sequence (<see cref="LlamaKvLayout"/>).</param>
    public static LlamaBackend Load(string path, int? threads = null, int? contextSize = null, string? modelName = null, LlamaKvLayout kvLayout = LlamaKvLayout.Shared)
    {
        var model = LlamaModel.Load(path, threads, contextSize, kvLayout);
        return new LlamaBackend(model, string.IsNullOrWhiteSpace(modelName) ? Path.GetFileNameWithoutExtension(path) : modelName);
    }

    /// <summary>The loaded model.</summary>
    public LlamaModel Model => _model;

    /// <inheritdoc />
    public string ModelName { get; }

    /// <inheritdoc />
    public int ContextSize => _model.ContextSize;

    /// <inheritdoc />
    public int? VocabularySize => _model.VocabularySize;

    /// <inheritdoc />
    public IClock Clock { get; } = new WallClock();

    /// <inheritdoc />
    public TokenizedPrompt Tokenize(string text)
    {
        var ids = _model.Tokenize(text, addBos: true);
        return new TokenizedPrompt(ids.Length, ids);
    }

    /// <inheritdoc />
    public string ApplyChatTemplate(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (UsesModelTemplate && _model.ApplyChatTemplate(messages.Select(m => (m.Role, m.Content))) is { } prompt)
        {
            return prompt;
        }

        var text = new StringBuilder();
        foreach (var m in messages)
        {
            text.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        return text.Append("<|im_start|>assistant\n").ToString();
    }

    /// <inheritdoc />
    public string TokenText(int tokenId) => _model.TokenToText(tokenId);

    /// <inheritdoc />
    /// <remarks>The token budget is capped by the context: llama.cpp runs one step as one batch of at most that many tokens.</remarks>
    public EngineConfig EngineConfigFor(int maxBatch, int tokenBudget) => _model.EngineConfigFor(maxBatch, Math.Min(tokenBudget, _model.ContextSize));

    /// <inheritdoc />
    public IExecutor CreateExecutor(EngineConfig config)
    {
        if (_executor is not null)
        {
            throw new InvalidOperationException("the llama backend serves one engine; its executor was already created");
        }

        _executor = _model.CreateExecutor(config);
        return _executor;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _executor?.Dispose();
        _model.Dispose();
    }
}
