import KieWatchCore
import KieWatchStore

/// Metric updates for task lifecycle events, shared by every path that finishes a task.
enum TaskMetrics {
    static func finished(_ task: TaskRecord, context: AgentContext) {
        let m = context.metrics
        m.tasksFinished.labels(task.model, task.state.rawValue).increment()
        if let seconds = TaskLifecycle.durationSeconds(task) {
            m.taskDuration.labels(task.model).observe(seconds, exemplar: ["task_id": task.taskID])
            context.deadlines.observe(model: task.model, durationMillis: Int64(seconds * 1000))
        }
        if let credits = task.creditsConsumed, credits > 0 {
            m.creditsConsumed.labels(task.model).increment(by: credits)
        }
    }
}
