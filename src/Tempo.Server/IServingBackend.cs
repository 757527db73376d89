using Tempo.Engine;

namespace Tempo.Server;

/// <summary>One chat message after the wire format is stripped: a role and its text.</summary>
/// <param name="Role">system, user, assistant, tool or developer.</param>
/// <param name="Content">The message text (content parts joined).</param>
public sealed record ChatTurn(string Role, string Content);

/// <summary>A tokenized prompt: its length and, for a real model, the token ids the executor needs.</summary>
/// <param name="Count">Prompt length in tokens.</param>
/// <param name="Ids">Token ids, or null when the backend has no real vocabulary (simulation).</param>
public sealed record TokenizedPrompt(int Count, IReadOnlyList<int>? Ids);

/// <summary>
/// What the server needs from a model: a tokenizer, a chat template, an executor and the engine limits it
/// supports. The backends live outside the server (Tempo.Backends: a paced cost model, a GGUF model on LLamaSharp) and the CLI picks one.
/// The server calls <see cref="Tokenize"/> and <see cref="ApplyChatTemplate"/> from request threads, concurrently.
/// </summary>
public interface IServingBackend : IDisposable
{
    /// <summary>Model name clients must send (unless the server overrides it).</summary>
    string ModelName { get; }

    /// <summary>Longest context (prompt + output) in tokens.</summary>
    int ContextSize { get; }

    /// <summary>Number of token ids the model knows, or null when any id is accepted (simulation).</summary>
    int? VocabularySize { get; }

    /// <summary>The clock the engine runs on; must be a real (wall) clock.</summary>
    IClock Clock { get; }

    /// <summary>Tokenizes a prompt. Thread-safe.</summary>
    TokenizedPrompt Tokenize(string text);

    /// <summary>Renders chat messages into the prompt text the model expects. Thread-safe.</summary>
    string ApplyChatTemplate(IReadOnlyList<ChatTurn> messages);

    /// <summary>
    /// Text of a token for a <see cref="SequenceOutput"/> that carries no text. Called on the engine thread only.
    /// </summary>
    string TokenText(int tokenId);

    /// <summary>Engine limits for the given batch cap and token budget (KV capacity, context length).</summary>
    EngineConfig EngineConfigFor(int maxBatch, int tokenBudget);

    /// <summary>Creates the executor; called once, and used only on the engine thread.</summary>
    IExecutor CreateExecutor(EngineConfig config);
}
