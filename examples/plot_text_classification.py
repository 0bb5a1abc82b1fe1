"""
===================
Text classification
===================

A bag-of-words matrix is the typical input of
:class:`~chinchilla_sklearn.ChinchillaClassifier`: many columns, few non-zero
entries per row. This example builds a small corpus in the script from three
topic vocabularies, turns it into a sparse TF-IDF matrix in a
:class:`~sklearn.pipeline.Pipeline`, fits an L1-penalised multinomial model, and
shows which words each class relies on. The matrix stays sparse from the
vectorizer to ``predict``, and the L1 penalty makes the weights sparse too.
"""

# %%
# A corpus from three topics
# --------------------------
# Each document mixes words from one topic's vocabulary with common words that
# say nothing about the topic, and a few rare "typos" (tokens seen once or
# twice), which give the matrix its long tail of nearly empty columns.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from chinchilla_sklearn import ChinchillaClassifier

topics = {
    "astronomy": (
        "star planet orbit galaxy telescope comet nebula moon eclipse asteroid "
        "cosmos gravity rocket satellite meteor solar lunar spectrum quasar "
        "supernova launch astronaut crater"
    ),
    "cooking": (
        "recipe oven flour butter garlic onion simmer roast bake sauce pepper "
        "salt kitchen knife dough sugar boil fry herbs pasta tomato spoon "
        "chef dinner"
    ),
    "football": (
        "goal match referee striker keeper penalty league coach team stadium "
        "pass tackle offside score season transfer captain midfield header "
        "corner fans trophy whistle"
    ),
}
shared = (
    "the a of and to in is it that was for on are with as at be this have "
    "from or one had by but not what all were when we there can an your which "
    "their said if do will each about how up out them then she many some so "
    "these would other into has more her two like him see time could no make "
    "than first been its who now people my made over did down only way find"
).split()
# a few words belong to two topics, so no single word decides every document
ambiguous = {"astronomy": ["launch", "season"], "football": ["launch", "dinner"]}

rng = np.random.default_rng(0)


def make_document(topic):
    """Return one document: topic words, common words and a rare token or two."""
    vocabulary = topics[topic].split() + ambiguous.get(topic, [])
    n_words = rng.integers(10, 40)
    n_topic = rng.binomial(n_words, 0.08)
    words = list(rng.choice(vocabulary, n_topic)) + list(
        rng.choice(shared, n_words - n_topic)
    )
    words += [f"typo{rng.integers(100_000)}" for _ in range(rng.integers(0, 3))]
    rng.shuffle(words)
    return " ".join(words)


labels = rng.choice(list(topics), size=1_500)
documents = [make_document(topic) for topic in labels]
print(documents[0][:200], "...")
print(f"label: {labels[0]}")

docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, test_size=0.3, random_state=0, stratify=labels
)

# %%
# The pipeline
# ------------
# :class:`~sklearn.feature_extraction.text.TfidfVectorizer` returns a CSR
# matrix, which the classifier uses as it is. ``l1_ratio=1`` is an L1 penalty.
# (For a stream of text too large to hold a vocabulary,
# :class:`~sklearn.feature_extraction.text.HashingVectorizer` followed by
# :class:`~sklearn.feature_extraction.text.TfidfTransformer` plays the same
# role.)
pipe = make_pipeline(
    TfidfVectorizer(sublinear_tf=True),
    ChinchillaClassifier(C=0.5, l1_ratio=1.0),
)
pipe.fit(docs_train, y_train)
vectorizer, clf = pipe[0], pipe[-1]

X_train = vectorizer.transform(docs_train)
print(
    f"X_train: {type(X_train).__name__} of shape {X_train.shape}, "
    f"{X_train.nnz / np.prod(X_train.shape):.2%} non-zero"
)
print(classification_report(y_test, pipe.predict(docs_test)))

# %%
# Sparsity of the weights
# -----------------------
# Most of the vocabulary, and nearly every common word, gets a zero weight in
# every class: the model is read off a short list of words. (A larger ``C``
# weakens the penalty: more words, common ones included, get weights.)
vocabulary = vectorizer.get_feature_names_out()
nonzero = clf.coef_ != 0
print(f"vocabulary: {vocabulary.size} words")
print(
    f"non-zero weights: {nonzero.sum()} of {nonzero.size} "
    f"({nonzero.mean():.1%}); words used by some class: {nonzero.any(axis=0).sum()}"
)
common_used = [
    word
    for word in shared
    if word in vectorizer.vocabulary_ and nonzero[:, vectorizer.vocabulary_[word]].any()
]
print(f"common words with a non-zero weight: {common_used}")

# %%
# ``sparsify`` stores ``coef_`` as a sparse matrix, so that prediction costs in
# proportion to the number of non-zero weights; the predictions do not change.
dense_predictions = pipe.predict(docs_test)
clf.sparsify()
print(f"coef_ is now {type(clf.coef_).__name__} with {clf.coef_.nnz} entries")
assert np.array_equal(pipe.predict(docs_test), dense_predictions)
clf.densify()

# %%
# The top words of each class
# ---------------------------
# The largest positive weights of each class are its own topic's words; the
# words two topics share get smaller weights, and the common words none.
n_top = 10
fig, axes = plt.subplots(1, len(clf.classes_), figsize=(11, 4), layout="constrained")
for ax, label, weights in zip(axes, clf.classes_, clf.coef_):
    top = np.argsort(weights)[-n_top:]
    ax.barh(vocabulary[top], weights[top], color="C0")
    ax.set_title(f"{label}: {np.count_nonzero(weights)} non-zero weights")
    ax.set_xlabel("weight")
fig.suptitle(f"Largest weights per class (L1, C={clf.C:g})")
plt.show()
