package browser

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// fakeCapture returns images whose size follows quality and scale, and
// records what was asked.
type fakeCapture struct {
	base  int // bytes at quality 100, scale 1
	calls []string
	err   error
}

func (f *fakeCapture) capture(_ context.Context, quality int, scale float64) ([]byte, error) {
	f.calls = append(f.calls, fmt.Sprintf("q%d@%.2f", quality, scale))
	if f.err != nil {
		return nil, f.err
	}
	return make([]byte, int(float64(f.base*quality/100)*scale*scale)), nil
}

func TestFitScreenshot(t *testing.T) {
	tests := []struct {
		name      string
		base, max int
		calls     int
		shrunk    bool
		err       error
	}{
		{"fits at once", 100_000, 200_000, 1, false, nil},
		{"lower quality", 400_000, 200_000, 3, true, nil},
		{"scaled down", 1_500_000, 200_000, 6, true, nil},
		{"too large even small", 100_000_000, 200_000, len(shrinkSteps), false, errScreenshotTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCapture{base: tt.base}
			img, shrunk, err := fitScreenshot(context.Background(), f.capture, tt.max)
			if !errors.Is(err, tt.err) || shrunk != tt.shrunk || len(f.calls) != tt.calls {
				t.Fatalf("got %d bytes, shrunk %v, err %v after %v", len(img), shrunk, err, f.calls)
			}
			if err == nil && (len(img) == 0 || len(img) > tt.max) {
				t.Errorf("image of %d bytes, cap %d", len(img), tt.max)
			}
		})
	}
	boom := errors.New("boom")
	if _, _, err := fitScreenshot(context.Background(), (&fakeCapture{err: boom}).capture, 1000); !errors.Is(err, boom) {
		t.Errorf("capture error: %v", err)
	}
}
