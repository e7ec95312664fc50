package httpdev

import "sync"

// Unit is one tracked appliance: its identity, where it was last found and
// the vendor's data about it.
type Unit[T any] struct {
	ID    string
	pokes chan struct{} // asks the poller to poll now

	mu   sync.Mutex
	addr string
	data T
}

// Addr returns where the appliance was last found.
func (u *Unit[T]) Addr() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addr
}

// Get returns where the appliance was last found and the vendor's data.
func (u *Unit[T]) Get() (addr string, data T) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addr, u.data
}

// Poke asks the poller to poll now (a command just failed, the instance
// said goodbye); a poke already waiting is enough.
func (u *Unit[T]) Poke() {
	select {
	case u.pokes <- struct{}{}:
	default:
	}
}
