"""scikit-learn's callback API (1.9 and later): the fit a task, each round a subtask."""

try:  # scikit-learn >= 1.9: set_callbacks, ProgressBar
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn has no callback API

    class CallbackSupportMixin:
        """Stand-in when scikit-learn has no callback API."""


class FitCallbacks:
    """Tell scikit-learn's callbacks (if any are set) when each outer iteration ends.

    The fit is the root task; each outer iteration of the gate loop a subtask.
    """

    def __init__(self, estimator, X, y, sample_weight):
        self.active = hasattr(estimator, "_init_callback_context")
        if not self.active:
            return
        self.estimator = estimator
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.hooks = dict(estimator=estimator, X=X, y=y, metadata=metadata)
        self.fit_ctx = estimator._init_callback_context(
            max_subtasks=estimator.max_iter
        )
        self.fit_ctx.call_on_fit_task_begin(**self.hooks)
        self.current = self._begin_iteration()

    def _begin_iteration(self):
        subtask = self.fit_ctx.subcontext(task_name="outer iteration")
        return subtask.call_on_fit_task_begin(**self.hooks)

    def iteration_done(self, last):
        """Close the iteration's task; open the next unless ``last``."""
        if not self.active:
            return
        self.current.call_on_fit_task_end(**self.hooks)
        self.current = None if last else self._begin_iteration()

    def fit_done(self):
        """Close the open tasks."""
        if not self.active:
            return
        if self.current is not None:  # begun, but the loop stopped
            self.current.call_on_fit_task_end(estimator=self.estimator)
        self.fit_ctx.call_on_fit_task_end(
            reconstruction_attributes=lambda: {}, **self.hooks
        )
